namespace Smpc.Grains.Payloads;

/// <summary>Stored state of a payload: the manifest of the committed upload and the progress of the one in flight.</summary>
public sealed class PayloadState
{
    public CommittedUpload? Committed { get; set; }
    public Guid? PendingUploadId { get; set; }
    public List<ChunkEntry> PendingChunks { get; set; } = [];
    public Interfaces.Payloads.PayloadConstraints? PendingConstraints { get; set; }

    /// <summary>The last upload completed as an identical re-upload of <see cref="Committed"/>: its completion may be retried.</summary>
    public Guid? DuplicateUploadId { get; set; }
}

/// <summary>A sealed upload.</summary>
public sealed class CommittedUpload
{
    public Guid UploadId { get; set; }
    public long Length { get; set; }
    public string Sha256 { get; set; } = "";
    public List<ChunkEntry> Chunks { get; set; } = [];
    public DateTimeOffset CompletedAt { get; set; }
}

/// <summary>One chunk: its length and SHA-256 (hex), checked again when it is read.</summary>
public sealed class ChunkEntry
{
    public int Length { get; set; }
    public string Sha256 { get; set; } = "";
}
