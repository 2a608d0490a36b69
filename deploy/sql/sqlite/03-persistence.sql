-- Orleans ADO.NET grain persistence for SQLite (Microsoft.Data.Sqlite, SQLite >= 3.35).
-- Contract: Microsoft.Orleans.Persistence.AdoNet 10.4.2, see ../README.md.
-- Requires 01-main.sql. Idempotent: safe to run at every start-up.
--
-- Design notes
-- * SQLite has no stored procedures. Each query text below is one or two plain statements;
--   Microsoft.Data.Sqlite runs them in order and Orleans reads the rows of every result set.
--   No explicit transaction is needed: every write is a single statement, and a writing
--   statement takes SQLite's write lock before it reads, so check-and-write is atomic.
-- * Version is the ETag (1 on first write, +1 per write/clear). Orleans sends the ETag it holds
--   as @GrainStateVersion (NULL = it has never seen a row). A successful write returns exactly
--   one row with column NewGrainStateVersion = new version; a conflict returns no row, which
--   Orleans turns into InconsistentStateException.
-- * The unique index makes duplicates impossible (ON CONFLICT DO NOTHING on the first insert)
--   and serves the point lookups. SQLite treats NULLs as distinct in unique indexes, so the
--   nullable extension is indexed as (IS NULL, IFNULL(..., '')), which keeps NULL and ''
--   distinct while making them comparable.
-- * GrainIdExtensionString is compared with SQLite's null-safe IS operator.
-- * Parameters are written @Name; Orleans names them without prefix and Microsoft.Data.Sqlite
--   matches @, $ or : prefixed placeholders (case-sensitively: keep the exact spelling).

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            INTEGER NOT NULL,
    GrainIdN0              INTEGER NOT NULL,
    GrainIdN1              INTEGER NOT NULL,
    GrainTypeHash          INTEGER NOT NULL,
    GrainTypeString        TEXT    NOT NULL,
    GrainIdExtensionString TEXT    NULL,
    ServiceId              TEXT    NOT NULL,
    PayloadBinary          BLOB    NULL,
    ModifiedOn             TEXT    NOT NULL,
    Version                INTEGER NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS OrleansStorage_Grain_UX ON OrleansStorage
(
    GrainIdHash,
    GrainTypeHash,
    ServiceId,
    GrainIdN0,
    GrainIdN1,
    GrainTypeString,
    (GrainIdExtensionString IS NULL),
    IFNULL(GrainIdExtensionString, '')
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Zero or one row. Zero rows = no state (ETag NULL). NULL PayloadBinary = cleared state.
('ReadFromStorageKey', '
SELECT
    PayloadBinary AS PayloadBinary,
    Version       AS Version
FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND ServiceId = @ServiceId
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString;
'),

-- Statement 1 runs only when @GrainStateVersion is NOT NULL (version-checked update);
-- statement 2 only when it is NULL (insert if absent). At most one row in total.
('WriteToStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = @PayloadBinary,
    ModifiedOn = CURRENT_TIMESTAMP,
    Version = Version + 1
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND ServiceId = @ServiceId
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND @GrainStateVersion IS NOT NULL
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;

INSERT INTO OrleansStorage
    (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
     GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
       @GrainIdExtensionString, @ServiceId, @PayloadBinary, CURRENT_TIMESTAMP, 1
WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING Version AS NewGrainStateVersion;
'),

-- DeleteStateOnClear = false: keep the row, drop the payload, bump Version. Orleans reads
-- column 0 of the single row; no row = conflict.
('ClearStorageKey', '
UPDATE OrleansStorage
SET PayloadBinary = NULL,
    ModifiedOn = CURRENT_TIMESTAMP,
    Version = Version + 1
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND ServiceId = @ServiceId
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
'),

-- Optional: only read when AdoNetGrainStorageOptions.DeleteStateOnClear = true.
('DeleteStorageKey', '
DELETE FROM OrleansStorage
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND ServiceId = @ServiceId
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS @GrainIdExtensionString
  AND Version = @GrainStateVersion
RETURNING Version + 1 AS NewGrainStateVersion;
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;
