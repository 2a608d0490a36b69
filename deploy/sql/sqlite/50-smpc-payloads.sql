-- Smpc.Orleans: large payload chunks, kept beside grain state (grain state holds only the manifest).
CREATE TABLE IF NOT EXISTS smpc_payload_chunk
(
    service_id  TEXT    NOT NULL,
    payload_key TEXT    NOT NULL,
    upload_id   TEXT    NOT NULL,
    chunk_index INTEGER NOT NULL,
    data        BLOB    NOT NULL,
    PRIMARY KEY (service_id, payload_key, upload_id, chunk_index)
);
