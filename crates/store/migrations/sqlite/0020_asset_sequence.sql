-- Findings indexes keyed by an asset sequence number instead of the asset id.
--
-- Asset ids (`ast_…`) are hashes, so an index ordered by asset id receives a large import's new
-- findings at random places: with millions of findings, every import rewrote most pages of four
-- such indexes. Each asset now gets `seq`, a number assigned when it is first stored (one more
-- than the workspace's highest), and the findings indexes order by it: a new asset's findings
-- land at the end of each index. Only the primary key `(workspace_id, id)` stays keyed by hash.
--
-- - `findings_asset (workspace_id, asset_seq, control_id)`, unique, replaces both
--   `UNIQUE (workspace_id, control_id, asset_id)` (the finding id, a hash of workspace, control
--   and asset, already makes that pair unique) and `findings_asset (workspace_id, asset_id)`.
-- - The list order ties by `asset_seq` (the order in which assets were first stored).
-- - The foreign key to the asset is `(workspace_id, asset_seq)`; `asset_id` stays as a copy
--   written with it, for reading.
--
-- SQLite cannot drop a table constraint, so the findings table is rebuilt. Dropping the old
-- table deletes its rows first, which cascades to `finding_exemptions`: those are kept aside
-- and put back.

ALTER TABLE assets ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE assets SET seq = rowid;
CREATE UNIQUE INDEX assets_seq ON assets (workspace_id, seq);

CREATE TABLE findings_next (
    workspace_id    TEXT NOT NULL,
    id              TEXT NOT NULL,
    control_id      TEXT NOT NULL,
    asset_id        TEXT NOT NULL,
    asset_seq       INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable')),
    severity        TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    severity_rank   INTEGER NOT NULL,  -- 1 info … 5 critical, for ordering
    reason          TEXT NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    resolved_at     TEXT,
    last_scan_id    TEXT NOT NULL,
    change_kind     TEXT,
    change_scan_id  TEXT,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, asset_seq) REFERENCES assets(workspace_id, seq) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, last_scan_id) REFERENCES scans(workspace_id, id)
) STRICT;

INSERT INTO findings_next (workspace_id, id, control_id, asset_id, asset_seq, status, severity,
    severity_rank, reason, first_seen, last_seen, resolved_at, last_scan_id, change_kind, change_scan_id)
SELECT f.workspace_id, f.id, f.control_id, f.asset_id, a.seq, f.status, f.severity,
    f.severity_rank, f.reason, f.first_seen, f.last_seen, f.resolved_at, f.last_scan_id, f.change_kind, f.change_scan_id
FROM findings f JOIN assets a ON a.workspace_id = f.workspace_id AND a.id = f.asset_id
ORDER BY a.seq, f.control_id;

CREATE TEMP TABLE kept_exemptions AS SELECT * FROM finding_exemptions;
DROP TABLE findings;
ALTER TABLE findings_next RENAME TO findings;
INSERT INTO finding_exemptions SELECT * FROM kept_exemptions;
DROP TABLE kept_exemptions;

CREATE UNIQUE INDEX findings_asset ON findings (workspace_id, asset_seq, control_id);
CREATE INDEX findings_order ON findings (workspace_id, severity_rank DESC, control_id, asset_seq);
CREATE INDEX findings_status_order ON findings (workspace_id, status, severity_rank DESC, control_id, asset_seq);
CREATE INDEX findings_change ON findings (workspace_id, change_scan_id) WHERE change_kind IS NOT NULL;
