-- Finding exemptions: an accepted risk, with a reason, an expiry and who recorded it. An
-- exemption whose expiry has passed no longer applies (the finding counts as failing again);
-- reopening deletes it. The history lives in the workspace audit log (finding.exempt,
-- finding.reopen).
CREATE TABLE finding_exemptions (
    workspace_id      TEXT NOT NULL,
    finding_id        TEXT NOT NULL,
    reason            TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_by_label  TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, finding_id),
    FOREIGN KEY (workspace_id, finding_id) REFERENCES findings(workspace_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX finding_exemptions_expiry ON finding_exemptions(workspace_id, expires_at);
