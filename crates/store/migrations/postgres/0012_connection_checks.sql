-- Connection checks: a job that authenticates with a connector's credentials and answers who
-- the cloud says they are, without scanning.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('scan', 'evaluate', 'import', 'notify', 'report', 'backup', 'check'));
