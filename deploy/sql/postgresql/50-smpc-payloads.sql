-- Smpc.Orleans: large payload chunks, kept beside grain state (grain state holds only the manifest).
CREATE TABLE IF NOT EXISTS smpc_payload_chunk
(
    service_id  varchar(150) NOT NULL,
    payload_key varchar(400) NOT NULL,
    upload_id   uuid         NOT NULL,
    chunk_index integer      NOT NULL,
    data        bytea        NOT NULL,
    CONSTRAINT pk_smpc_payload_chunk PRIMARY KEY (service_id, payload_key, upload_id, chunk_index)
);
-- Chunks are random (masked) bytes: compression is wasted work, so store them out of line uncompressed.
ALTER TABLE smpc_payload_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
