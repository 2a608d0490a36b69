using System.Security.Cryptography;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Payloads;

/// <summary>A large payload: chunk bytes in <see cref="PayloadChunkStore"/>, the manifest in grain state.</summary>
[GrainType("payload")]
public sealed class PayloadGrain(
    [PersistentState("payload", SmpcDatabase.GrainStorageName)] IPersistentState<PayloadState> state,
    PayloadChunkStore chunks,
    TimeProvider time) : Grain, IPayloadGrain
{
    private string Key => this.GetPrimaryKeyString();

    async Task<Guid> IPayloadGrain.BeginAsync(PayloadConstraints? constraints)
    {
        if (constraints is not null && ((constraints.ExactLength <= 0 && constraints.MaxLength <= 0) || constraints.ChunkBytes is <= 0 or > PayloadChunkStore.MaxChunkBytes
            || (constraints.ElementBytes > 0 && constraints.ChunkBytes % constraints.ElementBytes != 0)))
            throw SmpcException.Invalid("Payload constraints need a positive length and a chunk size of at most 4 MiB, a whole number of elements.");
        var uploadId = Guid.NewGuid();
        var abandoned = state.State.PendingUploadId;
        state.State.PendingUploadId = uploadId;
        state.State.PendingChunks = [];
        state.State.PendingConstraints = constraints;
        await state.WriteOrRollbackAsync(this, "payload.begin");
        if (abandoned is not null) await DeleteUploadAsync(abandoned.Value);
        return uploadId;
    }

    async Task IPayloadGrain.WriteChunkAsync(Guid uploadId, int index, byte[] data)
    {
        if (state.State.PendingUploadId != uploadId) throw SmpcException.WrongPhase("This upload is not in progress (it was completed, superseded or never begun).");
        await StoreChunkAsync(uploadId, index, data, quota: null);
    }

    async Task<ChunkReceipt> IPayloadGrain.WriteChunkAsync(Guid uploadId, int index, byte[] data, UploadQuota quota, UploadSeal? seal)
    {
        ArgumentNullException.ThrowIfNull(quota);
        if (state.State.PendingUploadId != uploadId)
        {
            // A retried last chunk that sealed the upload answers as before; any other chunk of a completed upload is refused.
            if (CompletedUpload(uploadId) is { } done && seal is not null && done.Chunks.Count == index + 1 && done.Length == seal.Length && done.Sha256 == seal.Sha256)
                return new ChunkReceipt(new PayloadUploadStatus(uploadId, done.Chunks.Count, done.Length, Completed: true), Manifest: ToManifest(done));
            throw SmpcException.WrongPhase(CompletedUpload(uploadId) is not null
                ? $"Upload '{uploadId}' is completed; it takes no more chunks."
                : "This upload is not in progress (it was completed, superseded or never begun).");
        }

        if (await StoreChunkAsync(uploadId, index, data, quota) is { } over)
            return new ChunkReceipt(PendingStatus(uploadId), over);
        if (seal is null) return new ChunkReceipt(PendingStatus(uploadId));
        var manifest = await CommitAsync(uploadId, seal.Length, seal.Sha256, verify: false);
        return new ChunkReceipt(new PayloadUploadStatus(uploadId, manifest.ChunkLengths.Count, manifest.Length, Completed: true), Manifest: manifest);
    }

    /// <summary>
    /// Checks and stores one chunk of the pending upload. With a quota, the chunk is counted against its tenant's daily usage
    /// after it is checked and before it is stored, in this grain's turn (so no second call can slip between check and count);
    /// a chunk over the quota is neither stored nor counted, and its quota kind is returned. A retried last chunk counts nothing.
    /// </summary>
    private async Task<UsageKind?> StoreChunkAsync(Guid uploadId, int index, byte[] data, UploadQuota? quota)
    {
        using var activity = SmpcTelemetry.Grains.StartActivity("payload.chunk.write");
        activity?.SetTag(SmpcTelemetry.PayloadAttribute, Key);
        activity?.SetTag(SmpcTelemetry.ChunkIndexAttribute, index);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, data?.Length ?? 0);

        if (data is null || data.Length == 0) throw SmpcException.Invalid("A chunk must not be empty.");
        if (data.Length > PayloadChunkStore.MaxChunkBytes) throw new SmpcException(SmpcErrorCode.TooLarge, $"A chunk may hold at most {PayloadChunkStore.MaxChunkBytes} bytes.");

        var hash = Convert.ToHexStringLower(SHA256.HashData(data));
        var pending = state.State.PendingChunks;
        if (index >= 0 && index == pending.Count - 1 && pending[index].Sha256 == hash) return null; // retried chunk: already durable and counted
        if (index != pending.Count) throw SmpcException.Conflict($"Expected chunk {pending.Count}, got chunk {index}.");
        var offset = pending.Sum(c => (long)c.Length);
        if (state.State.PendingConstraints is { } rules) CheckChunk(rules, offset, data);
        if (quota is not null && await ChargeAsync(quota, offset, data.Length) is { } over) return over;

        try
        {
            await chunks.WriteAsync(Key, uploadId, index, data);
        }
        catch (Exception ex)
        {
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.OperationTag, "payload.chunk.write"));
            throw SmpcException.StorageUnavailable("payload.chunk.write", ex);
        }

        pending.Add(new ChunkEntry { Length = data.Length, Sha256 = hash });
        await state.WriteOrRollbackAsync(this, "payload.chunk.write");
        SmpcTelemetry.PayloadBytesStored.Add(data.Length);
        return null;
    }

    /// <summary>
    /// Counts a chunk's bytes (and, for PSI sets, its elements) against today's usage of the payload's tenant, in one call to
    /// its usage grain; the rest of a declared length must fit too, so an upload that cannot fit is refused at its first chunk.
    /// </summary>
    private Task<UsageKind?> ChargeAsync(UploadQuota quota, long offset, int length)
    {
        var rules = state.State.PendingConstraints;
        var declared = rules is { ExactLength: > 0 } ? rules.ExactLength : quota.DeclaredBytes;
        var stillExpected = Math.Max(0, declared - offset - length);
        List<UsageCharge> charges = [new(UsageKind.PayloadBytes, length, quota.PayloadBytesPerDay, stillExpected)];
        if (rules is { ElementBytes: > 0 and var size })
            charges.Add(new(UsageKind.PsiElements, length / size, quota.PsiElementsPerDay, stillExpected / size));
        var tenant = PayloadKey.Parse(Key).Session.Tenant;
        return GrainFactory.GetGrain<ITenantUsageGrain>($"{tenant}/{time.GetUtcNow().UtcDateTime:yyyy-MM-dd}").TryChargeAsync(charges);
    }

    private PayloadUploadStatus PendingStatus(Guid uploadId) =>
        new(uploadId, state.State.PendingChunks.Count, state.State.PendingChunks.Sum(c => (long)c.Length), Completed: false);

    Task<PayloadManifest> IPayloadGrain.CompleteAsync(Guid uploadId, long length, string sha256) => CommitAsync(uploadId, length, sha256, verify: false);

    Task<PayloadManifest> IPayloadGrain.CompleteCheckedAsync(Guid uploadId, long length, string sha256) => CommitAsync(uploadId, length, sha256, verify: true);

    Task<PayloadManifest> IPayloadGrain.CompleteHashingAsync(Guid uploadId, long length) => CommitAsync(uploadId, length, sha256: null, verify: false);

    Task<PayloadUploadStatus> IPayloadGrain.GetUploadAsync(Guid uploadId)
    {
        using var activity = SmpcTelemetry.Grains.StartActivity("payload.upload.status");
        activity?.SetTag(SmpcTelemetry.PayloadAttribute, Key);
        if (state.State.PendingUploadId == uploadId)
        {
            var pending = state.State.PendingChunks;
            return Task.FromResult(new PayloadUploadStatus(uploadId, pending.Count, pending.Sum(c => (long)c.Length), Completed: false));
        }

        return CompletedUpload(uploadId) is { } done
            ? Task.FromResult(new PayloadUploadStatus(uploadId, done.Chunks.Count, done.Length, Completed: true))
            : throw SmpcException.NotFound($"Upload '{uploadId}' of payload '{Key}'");
    }

    /// <summary>
    /// Seals the pending upload: checks its length (and, with <paramref name="verify"/>, reads its chunks back and checks the
    /// SHA-256 the client declares), then switches the manifest to it. A retry of a completed upload answers as before.
    /// </summary>
    /// <summary>Commits the pending upload; a null <paramref name="sha256"/> is computed from the stored chunks.</summary>
    private async Task<PayloadManifest> CommitAsync(Guid uploadId, long length, string? sha256, bool verify)
    {
        using var activity = SmpcTelemetry.Grains.StartActivity("payload.commit");
        activity?.SetTag(SmpcTelemetry.PayloadAttribute, Key);
        activity?.SetTag(SmpcTelemetry.BytesAttribute, length);

        if (state.State.PendingUploadId != uploadId)
        {
            // A retried completion of an upload that is already committed (or was an identical re-upload) answers as before.
            if (CompletedUpload(uploadId) is { } done)
            {
                if ((verify || sha256 is null) && done.Length != length || (verify && done.Sha256 != sha256))
                    throw SmpcException.Invalid($"This upload was completed with {done.Length} bytes of SHA-256 {done.Sha256}, not {length} bytes{(sha256 is null ? "" : $" of {sha256}")}.");
                return ToManifest(done);
            }

            throw SmpcException.WrongPhase("This upload is not in progress.");
        }

        var pending = state.State.PendingChunks;
        var stored = pending.Sum(c => (long)c.Length);
        if (stored != length) throw SmpcException.Invalid($"The upload holds {stored} bytes, not {length}.");
        if (state.State.PendingConstraints is { ExactLength: > 0 } rules && stored != rules.ExactLength)
            throw SmpcException.Invalid($"This payload must hold exactly {rules.ExactLength} bytes; {stored} arrived.");
        if (pending.Count == 0) throw SmpcException.Invalid("An empty payload cannot be completed.");
        if (sha256 is null) sha256 = await HashPendingAsync(uploadId, pending);
        else if (verify && await HashPendingAsync(uploadId, pending) is var actual && actual != sha256)
            throw SmpcException.Invalid($"The stored bytes hash to SHA-256 {actual}, not the declared {sha256}.");

        var committed = state.State.Committed;
        if (committed is not null)
        {
            // Immutable once committed: the same bytes again are a retry; other bytes are a conflict.
            var same = committed.Sha256 == sha256 && committed.Length == length;
            state.State.PendingUploadId = null;
            state.State.PendingChunks = [];
            state.State.PendingConstraints = null;
            if (same) state.State.DuplicateUploadId = uploadId;
            await state.WriteOrRollbackAsync(this, "payload.commit");
            await DeleteUploadAsync(uploadId);
            if (same) return ToManifest(committed);
            throw SmpcException.Conflict("This payload was already stored with different content.");
        }

        state.State.Committed = new CommittedUpload
        {
            UploadId = uploadId,
            Length = length,
            Sha256 = sha256,
            Chunks = pending,
            CompletedAt = time.GetUtcNow(),
        };
        state.State.PendingUploadId = null;
        state.State.PendingChunks = [];
        state.State.PendingConstraints = null;
        await state.WriteOrRollbackAsync(this, "payload.commit");
        return ToManifest(state.State.Committed);
    }

    /// <summary>The committed upload if <paramref name="uploadId"/> is it or the identical re-upload completed last.</summary>
    private CommittedUpload? CompletedUpload(Guid uploadId) =>
        state.State.Committed is { } c && (c.UploadId == uploadId || state.State.DuplicateUploadId == uploadId) ? c : null;

    /// <summary>
    /// Reads the pending chunks back, one at a time so memory stays bounded, and checks that they hash to what the client
    /// declares: the chunks of a resumable upload arrive through many requests (and gateways), so no gateway saw the whole.
    /// </summary>
    /// <summary>SHA-256 (lower-case hex) of the pending upload's chunks as read back from storage, each checked against its entry.</summary>
    private async Task<string> HashPendingAsync(Guid uploadId, List<ChunkEntry> pending)
    {
        using var activity = SmpcTelemetry.Grains.StartActivity("payload.commit.verify");
        activity?.SetTag(SmpcTelemetry.PayloadAttribute, Key);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var i = 0; i < pending.Count; i++)
        {
            byte[]? data;
            try
            {
                data = await chunks.ReadAsync(Key, uploadId, i);
            }
            catch (Exception ex)
            {
                SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.OperationTag, "payload.chunk.read"));
                throw SmpcException.StorageUnavailable("payload.chunk.read", ex);
            }

            if (data is null || data.Length != pending[i].Length || Convert.ToHexStringLower(SHA256.HashData(data)) != pending[i].Sha256)
                throw SmpcException.StorageUnavailable("payload.chunk.read", new InvalidDataException($"Chunk {i} is missing or corrupt in storage."));
            hash.AppendData(data);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    Task<PayloadManifest> IPayloadGrain.GetManifestAsync() =>
        state.State.Committed is { } committed ? Task.FromResult(ToManifest(committed)) : throw SmpcException.NotFound($"Payload '{Key}'");

    async Task<byte[]> IPayloadGrain.ReadChunkAsync(int index)
    {
        var committed = state.State.Committed ?? throw SmpcException.NotFound($"Payload '{Key}'");
        if (index < 0 || index >= committed.Chunks.Count) throw SmpcException.Invalid($"Chunk {index} does not exist.");
        byte[]? data;
        try
        {
            data = await chunks.ReadAsync(Key, committed.UploadId, index);
        }
        catch (Exception ex)
        {
            throw SmpcException.StorageUnavailable("payload.chunk.read", ex);
        }

        var entry = committed.Chunks[index];
        if (data is null || data.Length != entry.Length || Convert.ToHexStringLower(SHA256.HashData(data)) != entry.Sha256)
            throw SmpcException.StorageUnavailable("payload.chunk.read", new InvalidDataException($"Chunk {index} is missing or corrupt in storage."));
        return data;
    }

    /// <summary>Fixed chunking, no overrun, and element checks: field vectors canonical (below the modulus), PSI elements valid.</summary>
    private static void CheckChunk(PayloadConstraints rules, long offset, byte[] data)
    {
        if (rules.ExactLength <= 0)
        {
            // Open length up to a maximum: every chunk but the last is full (the last one is only known by the commit).
            if (offset + data.Length > rules.MaxLength) throw new SmpcException(SmpcErrorCode.TooLarge, $"This payload may hold at most {rules.MaxLength} bytes.");
            if (data.Length > rules.ChunkBytes) throw SmpcException.Invalid($"Chunks of this payload hold at most {rules.ChunkBytes} bytes.");
            if (offset % rules.ChunkBytes != 0) throw SmpcException.Invalid($"Only the last chunk may be shorter than {rules.ChunkBytes} bytes.");
        }
        else
        {
            var expected = (int)Math.Min(rules.ChunkBytes, rules.ExactLength - offset);
            if (expected <= 0) throw new SmpcException(SmpcErrorCode.TooLarge, $"This payload must hold exactly {rules.ExactLength} bytes.");
            if (data.Length != expected) throw SmpcException.Invalid($"Chunk at byte {offset} must hold {expected} bytes, not {data.Length}.");
        }

        if (rules.ElementBytes > 0) CheckElements(rules, offset, data);
        if (rules.ElementModulus is not { } q) return;
        if (data.Length % sizeof(ulong) != 0) throw SmpcException.Invalid("A field vector is made of 8-byte elements.");
        var elements = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(data);
        if (!BitConverter.IsLittleEndian || !Smpc.Protocols.Field.PrimeField.Create(q).AreCanonical(elements))
            throw SmpcException.Invalid($"A field element in the chunk at byte {offset} is not below the modulus {q} (non-canonical).");
    }

    private static void CheckElements(PayloadConstraints rules, long offset, byte[] data)
    {
        var size = rules.ElementBytes;
        if (data.Length % size != 0) throw SmpcException.Invalid($"This payload is made of {size}-byte elements; the chunk at byte {offset} ends mid-element.");
        var first = offset / size;
        for (var i = 0; i < data.Length / size; i++)
        {
            var element = data.AsSpan(i * size, size);
            var valid = rules.Check switch
            {
                PayloadElementCheck.Ristretto255 => Smpc.Protocols.PrivateSetIntersection.Ristretto255.IsValid(element),
                PayloadElementCheck.RsaBelowModulus => Smpc.Protocols.PrivateSetIntersection.RsaHashes.IsValidElement(element, rules.RsaModulus),
                _ => true,
            };
            if (!valid)
                throw SmpcException.Invalid(rules.Check == PayloadElementCheck.Ristretto255
                    ? $"Element {first + i} is not a valid ristretto255 point (non-canonical encoding or the identity)."
                    : $"Element {first + i} is not a {size}-byte value in (1, n − 1) for the session's RSA modulus.");
        }
    }

    async Task IPayloadGrain.DeleteAsync()
    {
        var uploads = new[] { state.State.Committed?.UploadId, state.State.PendingUploadId }.OfType<Guid>().ToList();
        if (uploads.Count == 0 && !state.RecordExists) return;
        try
        {
            foreach (var upload in uploads) await chunks.DeleteUploadAsync(Key, upload);
            await state.ClearStateAsync();
        }
        catch (Exception ex)
        {
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.OperationTag, "payload.delete"));
            throw SmpcException.StorageUnavailable("payload.delete", ex);
        }
    }

    private async Task DeleteUploadAsync(Guid uploadId)
    {
        // Chunks of an abandoned or duplicate upload are garbage. Best effort: the manifest no longer
        // references them, so a failure here leaves unreachable rows, never a wrong answer.
        try
        {
            await chunks.DeleteUploadAsync(Key, uploadId);
        }
        catch (Exception)
        {
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.OperationTag, "payload.upload.delete"));
        }
    }

    private PayloadManifest ToManifest(CommittedUpload c) =>
        new(Key, c.UploadId, c.Length, [.. c.Chunks.Select(x => x.Length)], c.Sha256, c.CompletedAt);
}
