-- PostgreSQL drops the foreign key from `findings.last_scan_id` to the scans in this migration
-- (its per-row trigger was an eighth of a large import's recording time). SQLite keeps it:
-- dropping a foreign key there means rebuilding the findings table, and its check is a lookup
-- in one cached page of the scans table. Nothing to change; the migration keeps both backends'
-- lists of migrations the same.
SELECT 1;
