-- A finding's `last_scan_id` is always the scan being recorded, inserted earlier in the same
-- transaction, and Rampart never deletes a scan. The foreign key on it
-- cost a trigger call and a row lock on that one scan row for every finding written: about an
-- eighth of a large import's recording time (see docs/benchmarks.md). The key to the asset
-- stays (it deletes a gone asset's findings with it).
ALTER TABLE findings DROP CONSTRAINT findings_workspace_id_last_scan_id_fkey;
