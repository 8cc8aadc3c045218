-- Compliance reports rendered by `report` jobs: the file a job produced, kept for download
-- until newer reports of the workspace push it out (the store keeps the newest ones).
CREATE TABLE report_files (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    job_id        TEXT NOT NULL,
    framework_id  TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    content       BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, job_id)
);
CREATE INDEX report_files_recent ON report_files (workspace_id, created_at);
