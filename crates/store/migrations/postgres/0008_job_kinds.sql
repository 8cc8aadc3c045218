-- More kinds of job: file imports, notifications, reports, backups.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('scan', 'evaluate', 'import', 'notify', 'report', 'backup'));
