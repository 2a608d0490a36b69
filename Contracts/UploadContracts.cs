// REST contracts of resumable payload uploads: begin, send fixed-size chunks in order (one request each), ask how far the
// upload got after a failure, complete with the length and SHA-256 the client computed.
namespace Smpc.Contracts;

/// <summary>An upload in progress: its id, the chunk size every chunk but the last must have, what the service holds, and whether it was completed.</summary>
public sealed record ResumableUploadResponse(Guid UploadId, int ChunkBytes, int ChunksStored, long BytesStored, bool Completed);

/// <summary>Completes a resumable upload: the payload's total length and lower-case hex SHA-256, which the service checks against the stored chunks.</summary>
public sealed record CompleteUploadRequest(long Length, string Sha256);

/// <summary>Progress of a resumable upload, reported after every acknowledged chunk: what the service holds, chunks sent so far (retries included) and resumes.</summary>
public sealed record ResumableUploadProgress(Guid UploadId, int ChunksStored, long BytesStored, int ChunksSent, int Resumes);

/// <summary>A finished resumable upload: the stored payload, its chunk count, the chunk requests sent and how often the upload resumed.</summary>
public sealed record ResumableUploadResult(PayloadResponse Payload, int Chunks, int ChunksSent, int Resumes);
