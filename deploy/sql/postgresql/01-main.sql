-- Orleans ADO.NET query catalog for PostgreSQL (15+).
--
-- Every Orleans ADO.NET provider (clustering, persistence, reminders) starts by running
--     SELECT QueryKey, QueryText FROM OrleansQuery
-- and then executes the stored QueryText values with named parameters (@Name).
-- The contract (keys, parameters, result columns) is documented in ../README.md.
--
-- Idempotent: safe to run at every start-up. Run the scripts in file-name order
-- (01-main, 02-clustering, 03-persistence, 04-reminders).
--
-- Identifiers are deliberately unquoted: PostgreSQL folds them to lower case, and
-- Orleans' fixed start-up query (unquoted too) folds the same way. Result columns
-- that Orleans reads by name are aliased with quoted, exactly-cased names in the
-- query texts, so no reliance on Npgsql's case-insensitive fallback is needed.
--
-- Serialise concurrent runs (several silos starting at once). This holds only when
-- the runner executes the whole file in one transaction (an Npgsql multi-statement
-- command, psql -1, DbUp's transaction-per-script). Otherwise it is a harmless no-op.
SELECT pg_advisory_xact_lock(7460017001);

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT OrleansQuery_PK PRIMARY KEY (QueryKey)
);
