-- Assets a later scan no longer lists: `gone_at` is when a scan that listed their type, account
-- and region completely did not see them (NULL while they exist); `last_scan_id` is the last
-- scan that saw them, `gone_scan_id` the scan that found them gone.
ALTER TABLE assets ADD COLUMN last_scan_id TEXT;
ALTER TABLE assets ADD COLUMN gone_at TEXT;
ALTER TABLE assets ADD COLUMN gone_scan_id TEXT;
CREATE INDEX assets_sweep ON assets(workspace_id, provider, account, type, region);
ALTER TABLE scans ADD COLUMN gone_count INTEGER NOT NULL DEFAULT 0;
