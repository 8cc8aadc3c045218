-- Custom controls: a workspace's own checks, saved from an inventory query. An asset of one of
-- the listed resource types fails the control when the CEL query selects it and passes
-- otherwise. The framework mapping puts the control into those requirements, so framework
-- scores count it.
CREATE TABLE custom_controls (
    workspace_id    TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id              TEXT COLLATE "C" NOT NULL,
    title           TEXT COLLATE "C" NOT NULL,
    severity        TEXT COLLATE "C" NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    resource_types  TEXT COLLATE "C" NOT NULL,  -- JSON list of dotted resource types
    query           TEXT COLLATE "C" NOT NULL,  -- CEL over one asset; true = the asset fails
    frameworks      TEXT COLLATE "C" NOT NULL,  -- JSON map: framework id -> requirement ids
    rationale       TEXT COLLATE "C",
    remediation     TEXT COLLATE "C",
    created_by      TEXT COLLATE "C" NOT NULL,
    created_at      TEXT COLLATE "C" NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

ALTER TABLE custom_controls ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_controls FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_isolation ON custom_controls
    USING (workspace_id = current_setting('rampart.workspace_id', true))
    WITH CHECK (workspace_id = current_setting('rampart.workspace_id', true));
