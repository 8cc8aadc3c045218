-- Only findings with a status change are read by scan (`change_kind IS NOT NULL` in every
-- query on `change_scan_id`), so only they are indexed: a scan that records a million passing
-- findings no longer writes a million entries into this index.
DROP INDEX findings_change;
CREATE INDEX findings_change ON findings (workspace_id, change_scan_id) WHERE change_kind IS NOT NULL;
