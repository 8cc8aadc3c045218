-- Gone assets are few next to present ones: a partial index finds them (and counts them, for
-- the inventory's State facet) without walking every asset of a large workspace.
CREATE INDEX assets_gone ON assets (workspace_id, gone_at) WHERE gone_at IS NOT NULL;
