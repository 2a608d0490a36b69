-- Orleans ADO.NET clustering (membership) for PostgreSQL 15+.
-- Contract: Microsoft.Orleans.Clustering.AdoNet 10.4.2, see ../README.md.
-- Requires 01-main.sql. Idempotent: safe to run at every start-up.
--
-- Design notes
-- * One version row per cluster (DeploymentId = ClusterOptions.ClusterId). Every membership
--   insert/update must present the current table version (@Version) and bumps it; a stale
--   version makes the write return FALSE, which Orleans treats as "re-read and retry".
--   Heartbeats (UpdateIAmAlivetimeKey) and cleanup do not touch the version.
-- * Each write is a single SQL statement (data-modifying CTEs), so it is atomic without
--   stored functions. The UPDATE of the version row takes its row lock; a concurrent writer
--   with the same @Version re-checks the predicate after the lock and finds it stale.
-- * All timestamps are timestamptz: Orleans binds DateTime parameters as DbType.DateTime,
--   which Npgsql 6+ sends as 'timestamp with time zone' (UTC DateTime required), and Orleans
--   labels every DateTime it reads as UTC.
-- * Query texts use only @Name placeholders that Orleans 10.4.2 actually binds: Npgsql leaves
--   an unbound @Name in the SQL text verbatim, which then fails with a syntax error.
-- * No single quotes inside query texts (keeps the literals simple for any script runner).

SELECT pg_advisory_xact_lock(7460017001);

CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId text        NOT NULL,
    ModifiedOn   timestamptz NOT NULL DEFAULT now(),
    Version      integer     NOT NULL DEFAULT 0,
    CONSTRAINT OrleansMembershipVersionTable_PK PRIMARY KEY (DeploymentId)
);

-- SiloName, HostName, ProxyPort, Status and both timestamps are NOT NULL on purpose: Orleans
-- converts them without a DBNull check when it reads a member row.
CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId text        NOT NULL,
    Address      text        NOT NULL,
    Port         integer     NOT NULL,
    Generation   integer     NOT NULL,
    SiloName     text        NOT NULL,
    HostName     text        NOT NULL,
    Status       integer     NOT NULL,
    ProxyPort    integer     NOT NULL,
    SuspectTimes text        NULL,
    StartTime    timestamptz NOT NULL,
    IAmAliveTime timestamptz NOT NULL,
    CONSTRAINT OrleansMembershipTable_PK PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT OrleansMembershipTable_Version_FK FOREIGN KEY (DeploymentId)
        REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Silo start (InitializeMembershipTable(true)). One row, one boolean column:
-- TRUE = version row created now, FALSE = it already existed. Must not raise on duplicates.
('InsertMembershipVersionKey', '
WITH created AS (
    INSERT INTO OrleansMembershipVersionTable (DeploymentId, ModifiedOn, Version)
    VALUES (@DeploymentId, now(), 0)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM created) AS "Inserted";
'),

-- Heartbeat. No result is read; does not change the table version.
('UpdateIAmAlivetimeKey', '
UPDATE OrleansMembershipTable
SET IAmAliveTime = @IAmAliveTime
WHERE DeploymentId = @DeploymentId
  AND Address = @Address
  AND Port = @Port
  AND Generation = @Generation;
'),

-- Insert a member row if absent AND the table version still equals @Version; bumps the version.
-- One row, one boolean column: TRUE = inserted, FALSE = stale version or row already present.
('InsertMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1,
        ModifiedOn = now()
    WHERE DeploymentId = @DeploymentId
      AND Version = @Version
      AND NOT EXISTS (
          SELECT 1
          FROM OrleansMembershipTable m
          WHERE m.DeploymentId = @DeploymentId
            AND m.Address = @Address
            AND m.Port = @Port
            AND m.Generation = @Generation)
    RETURNING DeploymentId
), inserted AS (
    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort,
         SuspectTimes, StartTime, IAmAliveTime)
    SELECT b.DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
           NULL, @StartTime, @IAmAliveTime
    FROM bumped b
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS "Inserted";
'),

-- Update status/suspicions/heartbeat of an existing member if the table version still equals
-- @Version; bumps the version. One row, one boolean column: TRUE = updated, FALSE = stale/missing.
('UpdateMembershipKey', '
WITH bumped AS (
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1,
        ModifiedOn = now()
    WHERE DeploymentId = @DeploymentId
      AND Version = @Version
      AND EXISTS (
          SELECT 1
          FROM OrleansMembershipTable m
          WHERE m.DeploymentId = @DeploymentId
            AND m.Address = @Address
            AND m.Port = @Port
            AND m.Generation = @Generation)
    RETURNING DeploymentId
), updated AS (
    UPDATE OrleansMembershipTable m
    SET Status = @Status,
        SuspectTimes = @SuspectTimes,
        IAmAliveTime = @IAmAliveTime
    FROM bumped b
    WHERE m.DeploymentId = b.DeploymentId
      AND m.Address = @Address
      AND m.Port = @Port
      AND m.Generation = @Generation
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM updated) AS "Updated";
'),

-- Always at least one row (the version row, LEFT JOINed): Orleans takes the table version from
-- the first row and treats a NULL StartTime as "no member". Zero rows makes Orleans throw.
('MembershipReadRowKey', '
SELECT
    v.DeploymentId AS "DeploymentId",
    m.Address      AS "Address",
    m.Port         AS "Port",
    m.Generation   AS "Generation",
    m.SiloName     AS "SiloName",
    m.HostName     AS "HostName",
    m.Status       AS "Status",
    m.ProxyPort    AS "ProxyPort",
    m.SuspectTimes AS "SuspectTimes",
    m.StartTime    AS "StartTime",
    m.IAmAliveTime AS "IAmAliveTime",
    v.Version      AS "Version"
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address
      AND m.Port = @Port
      AND m.Generation = @Generation
WHERE v.DeploymentId = @DeploymentId;
'),

('MembershipReadAllKey', '
SELECT
    v.DeploymentId AS "DeploymentId",
    m.Address      AS "Address",
    m.Port         AS "Port",
    m.Generation   AS "Generation",
    m.SiloName     AS "SiloName",
    m.HostName     AS "HostName",
    m.Status       AS "Status",
    m.ProxyPort    AS "ProxyPort",
    m.SuspectTimes AS "SuspectTimes",
    m.StartTime    AS "StartTime",
    m.IAmAliveTime AS "IAmAliveTime",
    v.Version      AS "Version"
FROM OrleansMembershipVersionTable v
LEFT JOIN OrleansMembershipTable m
       ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
'),

-- Clients (gateway list provider). @Status is SiloStatus.Active (3).
('GatewaysQueryKey', '
SELECT
    Address    AS "Address",
    ProxyPort  AS "ProxyPort",
    Generation AS "Generation"
FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Status = @Status
  AND ProxyPort > 0;
'),

-- IMembershipTable.DeleteMembershipTableEntries (tests/tools). Removes the version row too,
-- like Orleans own scripts; a silo must re-initialise afterwards.
('DeleteMembershipTableEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId;
DELETE FROM OrleansMembershipVersionTable
WHERE DeploymentId = @DeploymentId;
'),

-- Required at start-up, but 10.4.2 only executes it when CleanupDefunctSiloEntryKey is absent.
-- @IAmAliveTime is the cut-off (UTC). Deletes only Dead (6) rows older than the cut-off.
('CleanupDefunctSiloEntriesKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Status = 6
  AND IAmAliveTime < @IAmAliveTime
  AND StartTime < @IAmAliveTime;
'),

-- Optional in 10.4.2 (looked up with GetValueOrDefault). When present, Orleans reads all rows,
-- picks Dead rows whose start, heartbeat and suspicion times precede the cut-off, and deletes
-- each one only if it is still exactly as read (no version change). Empty and NULL
-- SuspectTimes are treated as equal (Orleans reads both back as "no suspicions").
('CleanupDefunctSiloEntryKey', '
DELETE FROM OrleansMembershipTable
WHERE DeploymentId = @DeploymentId
  AND Address = @Address
  AND Port = @Port
  AND Generation = @Generation
  AND Status = 6
  AND StartTime = @StartTime
  AND IAmAliveTime = @IAmAliveTime
  AND (CASE WHEN length(SuspectTimes) > 0 THEN SuspectTimes END)
      IS NOT DISTINCT FROM
      (CASE WHEN length(@SuspectTimes) > 0 THEN @SuspectTimes END);
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
