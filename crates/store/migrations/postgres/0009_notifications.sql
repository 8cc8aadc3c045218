-- Notifications: channels and rules per workspace, the delivery log, Jira issues per finding
-- group, weekly digest slots; finding changes per scan; `notify` jobs on the queue.

-- What the last status change of a finding was ('new' = failing for the first time,
-- 'regressed' = failing again after having been resolved, 'resolved' = no longer failing) and
-- the scan that made it. Maintained by record_scan's upsert; read by the notify job of a scan.
ALTER TABLE findings ADD COLUMN change_kind TEXT COLLATE "C";
ALTER TABLE findings ADD COLUMN change_scan_id TEXT COLLATE "C";
CREATE INDEX findings_change ON findings (workspace_id, change_scan_id);

-- Where notifications go. `settings` is non-secret JSON (webhook URL, recipients, Jira site,
-- project and user); `secret` is sealed by the vault (webhook HMAC secret, the Slack or Teams
-- incoming-webhook URL, the Jira API token) and never leaves the store except to the sender.
CREATE TABLE notification_channels (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL CHECK (kind IN ('webhook', 'slack', 'teams', 'email', 'jira')),
    settings      TEXT COLLATE "C" NOT NULL,
    secret        TEXT COLLATE "C",
    enabled       INTEGER NOT NULL DEFAULT 1,
    digest        INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

-- Which findings are sent where: minimum severity (rank, 0 = info … 4 = critical), optional
-- framework ids (JSON array; empty = any), optional CEL filter over the asset, triggers, and
-- the channel ids (JSON array).
CREATE TABLE notification_rules (
    workspace_id   TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id             TEXT COLLATE "C" NOT NULL,
    name           TEXT COLLATE "C" NOT NULL,
    min_severity   TEXT COLLATE "C" NOT NULL,
    frameworks     TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    scope          TEXT COLLATE "C",
    on_new         INTEGER NOT NULL DEFAULT 1,
    on_regressed   INTEGER NOT NULL DEFAULT 1,
    channels       TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    enabled        INTEGER NOT NULL DEFAULT 1,
    created_by     TEXT COLLATE "C" NOT NULL,
    created_at     TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

-- One row per (notify job, rule, channel): a retried job skips channels already delivered.
-- `rule_id` is '' for test messages and digests.
CREATE TABLE notification_deliveries (
    workspace_id   TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id             TEXT COLLATE "C" NOT NULL,
    job_id         TEXT COLLATE "C" NOT NULL,
    rule_id        TEXT COLLATE "C" NOT NULL,
    channel_id     TEXT COLLATE "C" NOT NULL,
    purpose        TEXT COLLATE "C" NOT NULL CHECK (purpose IN ('findings', 'resolved', 'test', 'digest')),
    state          TEXT COLLATE "C" NOT NULL CHECK (state IN ('delivered', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    findings       INTEGER NOT NULL DEFAULT 0,
    status_code    INTEGER,
    error          TEXT COLLATE "C",
    created_at     TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT COLLATE "C" NOT NULL,
    delivered_at   TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, job_id, rule_id, channel_id, purpose)
);
CREATE INDEX notification_deliveries_recent ON notification_deliveries (workspace_id, created_at);

-- The Jira issue of a finding group (a control) per channel: created when the group first
-- fails, commented and transitioned when none of its findings fails any more.
CREATE TABLE notification_jira_issues (
    workspace_id   TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id     TEXT COLLATE "C" NOT NULL,
    group_key      TEXT COLLATE "C" NOT NULL,
    issue_key      TEXT COLLATE "C" NOT NULL,
    state          TEXT COLLATE "C" NOT NULL CHECK (state IN ('open', 'resolved')),
    created_at     TEXT COLLATE "C" NOT NULL,
    resolved_at    TEXT COLLATE "C",
    PRIMARY KEY (workspace_id, channel_id, group_key)
);

-- Weekly digest slots: one digest job per workspace and slot, however many schedulers run.
CREATE TABLE notification_digests (
    workspace_id   TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    slot           TEXT COLLATE "C" NOT NULL,
    job_id         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, slot)
);

-- `notify` jobs: the kind is allowed since migration 0008 (job kinds).

-- Row-level security on the new tables of workspace data.
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['notification_channels', 'notification_rules', 'notification_deliveries', 'notification_jira_issues', 'notification_digests'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY workspace_isolation ON %I '
            'USING (workspace_id = current_setting(''rampart.workspace_id'', true)) '
            'WITH CHECK (workspace_id = current_setting(''rampart.workspace_id'', true))', t);
    END LOOP;
END $$;
