-- Orleans ADO.NET query catalog for SQLite (grain persistence only).
--
-- Orleans reads  SELECT QueryKey, QueryText FROM OrleansQuery  at provider start-up and runs
-- the stored texts through Microsoft.Data.Sqlite (invariant "System.Data.SQLite").
-- Contract: see ../README.md. Idempotent: safe to run at every start-up, then run
-- 03-persistence.sql. (There is no 02/04 for SQLite: Orleans has no SQLite clustering or
-- reminders.)
--
-- WAL mode is strongly recommended (concurrent readers, fewer SQLITE_BUSY). It is a persistent
-- property of the database file, but SQLite refuses to switch it inside a transaction, so it is
-- not set here. Run once per database file, outside any transaction:
--     PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);
