namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>A large binary payload (masked vector, PSI set) stored as 1–4 MiB chunks beside grain state. Keyed by <see cref="PayloadKey"/>.</summary>
/// <remarks>
/// An upload writes its chunks under a fresh upload id; <see cref="CompleteAsync"/> switches the manifest to it atomically,
/// so readers never see a partial payload. A completed payload is immutable: completing an identical one again is idempotent,
/// a different one is a conflict.
/// </remarks>
[Alias("smpc.payload")]
public interface IPayloadGrain : IGrainWithStringKey
{
    /// <summary>Starts an upload and returns its id; earlier unfinished uploads are abandoned. With constraints, every chunk is checked as it arrives.</summary>
    [Alias("begin")] Task<Guid> BeginAsync(PayloadConstraints? constraints = null);

    /// <summary>Stores chunk <paramref name="index"/> of an upload; chunks arrive in order; re-sending the last one is idempotent.</summary>
    [Alias("write-chunk")] Task WriteChunkAsync(Guid uploadId, int index, [Immutable] byte[] data);

    /// <summary>
    /// Stores chunk <paramref name="index"/> of a client's upload after counting it against its tenant's daily quota in the same
    /// turn (check and count cannot be split by another upload); with <paramref name="seal"/>, commits the upload after it, so a
    /// one-request upload costs one call per chunk and no more. A chunk over the quota is neither stored nor counted
    /// (<see cref="ChunkReceipt.OverQuota"/>); re-sending the last chunk counts nothing again.
    /// </summary>
    [Alias("write-chunk-metered")] Task<ChunkReceipt> WriteChunkAsync(Guid uploadId, int index, [Immutable] byte[] data, UploadQuota quota, UploadSeal? seal = null);

    /// <summary>Seals the upload after checking its length and SHA-256 (lower-case hex).</summary>
    [Alias("complete")] Task<PayloadManifest> CompleteAsync(Guid uploadId, long length, string sha256);

    /// <summary>The progress of an upload (so a client can resume it), or of the committed one; an unknown or superseded upload is not found.</summary>
    [Alias("get-upload")] Task<PayloadUploadStatus> GetUploadAsync(Guid uploadId);

    /// <summary>
    /// Seals the upload after reading its chunks back from storage and checking them against the length and SHA-256 (lower-case
    /// hex) its client declares, for uploads whose bytes no single gateway saw whole; a retry of a completed upload answers the same manifest.
    /// </summary>
    [Alias("complete-checked")] Task<PayloadManifest> CompleteCheckedAsync(Guid uploadId, long length, string sha256);

    /// <summary>
    /// Seals a service-written upload whose writer no longer holds the running SHA-256 of its bytes (it resumed after a
    /// restart): the grain reads the chunks back and takes their SHA-256; a retry of a completed upload answers its manifest.
    /// </summary>
    [Alias("complete-hashing")] Task<PayloadManifest> CompleteHashingAsync(Guid uploadId, long length);

    /// <summary>The manifest of the completed payload, or a not-found error.</summary>
    [Alias("manifest")] Task<PayloadManifest> GetManifestAsync();

    /// <summary>One chunk of the completed payload.</summary>
    [Alias("read-chunk")] Task<byte[]> ReadChunkAsync(int index);

    /// <summary>Deletes the payload's chunks and manifest (its session is over and the data is no longer needed).</summary>
    [Alias("delete")] Task DeleteAsync();
}
