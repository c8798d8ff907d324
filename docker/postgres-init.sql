-- Runs once, when the postgres volume is first created (docker-entrypoint-initdb.d).
-- POSTGRES_DB creates Airflow's metadata database; newsmon keeps its own database beside it,
-- owned by the same role, so the two can be backed up, restored and migrated separately.
CREATE DATABASE newsmon;
