-- Orleans ADO.NET grain persistence for PostgreSQL 15+.
-- Contract: Microsoft.Orleans.Persistence.AdoNet 10.4.2, see ../README.md.
-- Requires 01-main.sql. Idempotent: safe to run at every start-up.
--
-- Design notes
-- * A grain state row is identified by (GrainIdHash, GrainTypeHash, ServiceId, GrainIdN0,
--   GrainIdN1, GrainTypeString, GrainIdExtensionString); the hashes are computed by Orleans.
--   Rows are keyed by ServiceId (ClusterOptions.ServiceId), not ClusterId.
-- * Version is the ETag: an integer starting at 1 and incremented by every write/clear.
--   Orleans sends the ETag it holds as @GrainStateVersion (NULL = "I have never seen a row").
-- * Optimistic concurrency: a write/clear/delete returns the new version in one row; on a
--   conflict it returns no row, which Orleans turns into InconsistentStateException.
-- * The unique index makes "insert if absent" race-free (ON CONFLICT DO NOTHING) and serves
--   the point lookups. Long strings are indexed through md5() to keep index entries small; the
--   extra (GrainIdExtensionString IS NULL) column keeps NULL and '' extensions distinct.

SELECT pg_advisory_xact_lock(7460017001);

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer     NOT NULL,
    GrainIdN0              bigint      NOT NULL,
    GrainIdN1              bigint      NOT NULL,
    GrainTypeHash          integer     NOT NULL,
    GrainTypeString        text        NOT NULL,
    GrainIdExtensionString text        NULL,
    ServiceId              text        NOT NULL,
    PayloadBinary          bytea       NULL,
    ModifiedOn             timestamptz NOT NULL,
    Version                integer     NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS OrleansStorage_Grain_UX ON OrleansStorage
(
    GrainIdHash,
    GrainTypeHash,
    ServiceId,
    GrainIdN0,
    GrainIdN1,
    md5(GrainTypeString),
    (GrainIdExtensionString IS NULL),
    md5(COALESCE(GrainIdExtensionString, ''))
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Exactly zero or one row. Zero rows = no state (ETag NULL, RecordExists false).
-- A row with NULL PayloadBinary = cleared state (ETag = Version, RecordExists false).
('ReadFromStorageKey', '
SELECT
    PayloadBinary AS "PayloadBinary",
    Version       AS "Version"
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND ServiceId = @ServiceId
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
'),

-- @GrainStateVersion NOT NULL: update the row only if its Version still matches.
-- @GrainStateVersion NULL: insert the row with Version 1 only if no row exists.
-- Success: one row, NewGrainStateVersion = new version. Conflict: no row.
('WriteToStorageKey', '
WITH updated AS (
    UPDATE OrleansStorage
    SET PayloadBinary = @PayloadBinary,
        ModifiedOn = now(),
        Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND ServiceId = @ServiceId
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND Version = @GrainStateVersion
    RETURNING Version
), inserted AS (
    INSERT INTO OrleansStorage
        (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
         GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
    SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
           @GrainIdExtensionString, @ServiceId, @PayloadBinary, now(), 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING Version
)
SELECT Version AS "NewGrainStateVersion" FROM updated
UNION ALL
SELECT Version FROM inserted;
'),

-- ClearStateAsync with DeleteStateOnClear = false: keep the row, drop the payload, bump Version.
-- Orleans reads column 0 of the single row. Conflict: no row.
('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL,
    ModifiedOn = now(),
    Version = Version + 1
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND ServiceId = @ServiceId
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND Version = @GrainStateVersion
RETURNING Version AS "NewGrainStateVersion";
'),

-- Optional: only read when AdoNetGrainStorageOptions.DeleteStateOnClear = true.
-- Removes the row. Must still return one row whose column 0 differs from the old version.
('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND ServiceId = @ServiceId
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
  AND Version = @GrainStateVersion
RETURNING Version + 1 AS "NewGrainStateVersion";
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
