-- Orleans ADO.NET reminders for PostgreSQL 15+.
-- Contract: Microsoft.Orleans.Reminders.AdoNet 10.4.2, see ../README.md.
-- Requires 01-main.sql. Idempotent: safe to run at every start-up.
--
-- Design notes
-- * Rows are keyed by (ServiceId, GrainId, ReminderName); GrainId is GrainId.ToString().
-- * GrainHash is GrainId.GetUniformHashCode() stored as a signed int. Orleans picks
--   ReadRangeRows1Key when (int)begin < (int)end and ReadRangeRows2Key otherwise (wrapped
--   range, including begin = end = whole ring); both ranges are (begin, end] in signed order.
-- * Version is the reminder ETag: 0 on insert, +1 on every upsert.
-- * Period is milliseconds: Orleans binds an Int32 when it fits, an Int64 otherwise.

SELECT pg_advisory_xact_lock(7460017001);

CREATE TABLE IF NOT EXISTS OrleansRemindersTable
(
    ServiceId    text        NOT NULL,
    GrainId      text        NOT NULL,
    ReminderName text        NOT NULL,
    StartTime    timestamptz NOT NULL,
    Period       bigint      NOT NULL,
    GrainHash    integer     NOT NULL,
    Version      integer     NOT NULL,
    CONSTRAINT OrleansRemindersTable_PK PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS OrleansRemindersTable_GrainHash_IX
    ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('ReadReminderRowsKey', '
SELECT
    GrainId      AS "GrainId",
    ReminderName AS "ReminderName",
    StartTime    AS "StartTime",
    Period       AS "Period",
    Version      AS "Version"
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId
  AND GrainId = @GrainId;
'),

('ReadReminderRowKey', '
SELECT
    GrainId      AS "GrainId",
    ReminderName AS "ReminderName",
    StartTime    AS "StartTime",
    Period       AS "Period",
    Version      AS "Version"
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId
  AND GrainId = @GrainId
  AND ReminderName = @ReminderName;
'),

('ReadRangeRows1Key', '
SELECT
    GrainId      AS "GrainId",
    ReminderName AS "ReminderName",
    StartTime    AS "StartTime",
    Period       AS "Period",
    Version      AS "Version"
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId
  AND GrainHash > @BeginHash
  AND GrainHash <= @EndHash;
'),

('ReadRangeRows2Key', '
SELECT
    GrainId      AS "GrainId",
    ReminderName AS "ReminderName",
    StartTime    AS "StartTime",
    Period       AS "Period",
    Version      AS "Version"
FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId
  AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
'),

-- Insert (Version 0) or update (Version + 1). Exactly one row with column "Version" (new ETag).
('UpsertReminderRowKey', '
INSERT INTO OrleansRemindersTable AS r
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
SET StartTime = EXCLUDED.StartTime,
    Period = EXCLUDED.Period,
    GrainHash = EXCLUDED.GrainHash,
    Version = r.Version + 1
RETURNING r.Version AS "Version";
'),

-- Exactly one row, one boolean column: TRUE = deleted, FALSE = missing or ETag mismatch.
('DeleteReminderRowKey', '
WITH deleted AS (
    DELETE FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId
      AND GrainId = @GrainId
      AND ReminderName = @ReminderName
      AND Version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM deleted) AS "Deleted";
'),

-- IReminderTable.TestOnlyClearTable.
('DeleteReminderRowsKey', '
DELETE FROM OrleansRemindersTable
WHERE ServiceId = @ServiceId;
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
