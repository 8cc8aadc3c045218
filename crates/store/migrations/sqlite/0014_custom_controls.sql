-- Custom controls: a workspace's own checks, saved from an inventory query. An asset of one of
-- the listed resource types fails the control when the CEL query selects it and passes
-- otherwise. The framework mapping puts the control into those requirements, so framework
-- scores count it.
CREATE TABLE custom_controls (
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    title           TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    resource_types  TEXT NOT NULL,  -- JSON list of dotted resource types
    query           TEXT NOT NULL,  -- CEL over one asset; true = the asset fails
    frameworks      TEXT NOT NULL,  -- JSON map: framework id -> requirement ids
    rationale       TEXT,
    remediation     TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
) STRICT;
