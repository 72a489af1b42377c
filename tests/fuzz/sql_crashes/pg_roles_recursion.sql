-- stack overflow: pg_roles' context provider called itself (issue 11)
SELECT 1 FROM pg_catalog.pg_roles
