-- What a scan changed about an asset: the configuration and tags it had before, kept when a scan
-- records a different version (compared by hash, `assets.config_hash`). The asset page shows the
-- differences between consecutive versions.
ALTER TABLE assets ADD COLUMN config_hash TEXT COLLATE "C";
CREATE TABLE asset_changes (
    workspace_id     TEXT COLLATE "C" NOT NULL,
    asset_id         TEXT COLLATE "C" NOT NULL,
    scan_id          TEXT COLLATE "C" NOT NULL,
    changed_at       TEXT COLLATE "C" NOT NULL,
    previous_config  TEXT COLLATE "C" NOT NULL,
    previous_tags    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, asset_id, scan_id),
    FOREIGN KEY (workspace_id, asset_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_changes_recent ON asset_changes(workspace_id, asset_id, changed_at);

ALTER TABLE asset_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE asset_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_isolation ON asset_changes
    USING (workspace_id = current_setting('rampart.workspace_id', true))
    WITH CHECK (workspace_id = current_setting('rampart.workspace_id', true));
