-- What a scan changed about an asset: the configuration and tags it had before, kept when a scan
-- records a different version (compared by hash, `assets.config_hash`). The asset page shows the
-- differences between consecutive versions.
ALTER TABLE assets ADD COLUMN config_hash TEXT;
CREATE TABLE asset_changes (
    workspace_id     TEXT NOT NULL,
    asset_id         TEXT NOT NULL,
    scan_id          TEXT NOT NULL,
    changed_at       TEXT NOT NULL,
    previous_config  TEXT NOT NULL,
    previous_tags    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, asset_id, scan_id),
    FOREIGN KEY (workspace_id, asset_id) REFERENCES assets(workspace_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX asset_changes_recent ON asset_changes(workspace_id, asset_id, changed_at);
