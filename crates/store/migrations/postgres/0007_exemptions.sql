-- Finding exemptions: an accepted risk, with a reason, an expiry and who recorded it. An
-- exemption whose expiry has passed no longer applies (the finding counts as failing again);
-- reopening deletes it. The history lives in the workspace audit log (finding.exempt,
-- finding.reopen).
CREATE TABLE finding_exemptions (
    workspace_id      TEXT COLLATE "C" NOT NULL,
    finding_id        TEXT COLLATE "C" NOT NULL,
    reason            TEXT COLLATE "C" NOT NULL,
    expires_at        TEXT COLLATE "C" NOT NULL,
    created_by        TEXT COLLATE "C" NOT NULL,
    created_by_label  TEXT COLLATE "C" NOT NULL,
    created_at        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, finding_id),
    FOREIGN KEY (workspace_id, finding_id) REFERENCES findings(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX finding_exemptions_expiry ON finding_exemptions(workspace_id, expires_at);

-- Row-level security, as on every table of workspace data.
ALTER TABLE finding_exemptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE finding_exemptions FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_isolation ON finding_exemptions
    USING (workspace_id = current_setting('rampart.workspace_id', true))
    WITH CHECK (workspace_id = current_setting('rampart.workspace_id', true));
