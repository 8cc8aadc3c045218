-- Saved inventory queries: a name and a CEL filter per workspace, shared by its members.
CREATE TABLE saved_queries (
    workspace_id  TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    query         TEXT COLLATE "C" NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

ALTER TABLE saved_queries ENABLE ROW LEVEL SECURITY;
ALTER TABLE saved_queries FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_isolation ON saved_queries
    USING (workspace_id = current_setting('rampart.workspace_id', true))
    WITH CHECK (workspace_id = current_setting('rampart.workspace_id', true));
