-- Compliance reports rendered by `report` jobs: the file a job produced, kept for download
-- until newer reports of the workspace push it out (the store keeps the newest ones).
CREATE TABLE report_files (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    job_id        TEXT COLLATE "C" NOT NULL,
    framework_id  TEXT COLLATE "C" NOT NULL,
    file_name     TEXT COLLATE "C" NOT NULL,
    media_type    TEXT COLLATE "C" NOT NULL,
    sha256        TEXT COLLATE "C" NOT NULL,
    size          BIGINT NOT NULL,
    content       BYTEA NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, job_id)
);
CREATE INDEX report_files_recent ON report_files (workspace_id, created_at);

ALTER TABLE report_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_files FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_isolation ON report_files
    USING (workspace_id = current_setting('rampart.workspace_id', true))
    WITH CHECK (workspace_id = current_setting('rampart.workspace_id', true));
