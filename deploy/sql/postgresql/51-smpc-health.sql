-- Smpc.Orleans: the readiness probe's write target. /health/ready upserts one row per check, so a database that refuses
-- writes (full disk, read-only, out of connections) makes the node not ready instead of only failing every request.
CREATE TABLE IF NOT EXISTS smpc_health
(
    probe      TEXT        NOT NULL PRIMARY KEY,
    checked_at TIMESTAMPTZ NOT NULL
);
