-- Findings are listed most severe first, then by control and asset: index that order (overall
-- and per status) so a page is read from the index instead of sorting every finding.
DROP INDEX findings_status;
CREATE INDEX findings_order ON findings(workspace_id, severity_rank DESC, control_id, asset_id);
CREATE INDEX findings_status_order ON findings(workspace_id, status, severity_rank DESC, control_id, asset_id);
