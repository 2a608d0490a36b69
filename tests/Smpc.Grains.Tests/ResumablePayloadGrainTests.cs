using System.Security.Cryptography;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;

namespace Smpc.Grains.Tests;

/// <summary>What resumable uploads need of the payload grain: the progress of an upload, and a completion that checks the stored bytes.</summary>
public sealed class ResumablePayloadGrainTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private readonly IGrainFactory _grains = cluster.Grains;

    private IPayloadGrain NewPayload() => _grains.GetPayload(new PayloadKey(new EntityKey(Seed.NewTenantId(), "s1"), "input"));

    private static string Sha(params byte[][] chunks) => Convert.ToHexStringLower(SHA256.HashData(chunks.SelectMany(c => c).ToArray()));

    private static async Task<Guid> WriteAsync(IPayloadGrain payload, params byte[][] chunks)
    {
        var upload = await payload.BeginAsync();
        for (var i = 0; i < chunks.Length; i++) await payload.WriteChunkAsync(upload, i, chunks[i]);
        return upload;
    }

    /// <summary>A manifest as comparable text (its chunk lengths are a list, which records compare by reference).</summary>
    private static string Text(PayloadManifest m) => $"{m.Key} {m.UploadId} {m.Length} [{string.Join(",", m.ChunkLengths)}] {m.Sha256} {m.CompletedAt:O}";

    private static async Task<SmpcErrorCode> FailsWithAsync(Func<Task> call) => (await Assert.ThrowsAsync<SmpcException>(call)).Code;

    [Fact]
    public async Task GetUpload_OfAnUploadInProgress_CountsItsStoredChunksAndBytes_AndARetriedChunkOnce()
    {
        var payload = NewPayload();
        var upload = await WriteAsync(payload, [1, 2, 3], [4, 5]);
        var before = await payload.GetUploadAsync(upload);

        await payload.WriteChunkAsync(upload, 1, [4, 5]); // the last chunk again: idempotent

        Assert.Equal(new PayloadUploadStatus(upload, 2, 5, Completed: false), before);
        Assert.Equal(before, await payload.GetUploadAsync(upload));
        var next = await payload.BeginAsync();
        Assert.Equal(new PayloadUploadStatus(next, 0, 0, Completed: false), await payload.GetUploadAsync(next));
    }

    [Fact]
    public async Task GetUpload_OfTheCommittedUpload_IsCompletedWithItsTotals()
    {
        var payload = NewPayload();
        var upload = await WriteAsync(payload, [1, 2, 3], [4, 5]);
        await payload.CompleteCheckedAsync(upload, 5, Sha([1, 2, 3], [4, 5]));

        Assert.Equal(new PayloadUploadStatus(upload, 2, 5, Completed: true), await payload.GetUploadAsync(upload));
    }

    [Fact]
    public async Task GetUpload_OfAnUnknownOrSupersededUpload_IsNotFound()
    {
        var payload = NewPayload();
        var superseded = await WriteAsync(payload, [1]);
        await payload.BeginAsync();

        Assert.Equal(SmpcErrorCode.NotFound, await FailsWithAsync(() => payload.GetUploadAsync(superseded)));
        Assert.Equal(SmpcErrorCode.NotFound, await FailsWithAsync(() => payload.GetUploadAsync(Guid.NewGuid())));
        Assert.Equal(SmpcErrorCode.NotFound, await FailsWithAsync(() => NewPayload().GetUploadAsync(Guid.NewGuid())));
    }

    [Fact]
    public async Task CompleteChecked_OfTheBytesDeclared_CommitsTheUpload()
    {
        var payload = NewPayload();
        byte[][] chunks = [RandomNumberGenerator.GetBytes(1000), RandomNumberGenerator.GetBytes(1000), RandomNumberGenerator.GetBytes(10)];
        var upload = await WriteAsync(payload, chunks);

        var manifest = await payload.CompleteCheckedAsync(upload, 2010, Sha(chunks));

        Assert.Equal((upload, 2010L, Sha(chunks)), (manifest.UploadId, manifest.Length, manifest.Sha256));
        Assert.Equal([1000, 1000, 10], manifest.ChunkLengths);
        Assert.Equal(Text(manifest), Text(await payload.GetManifestAsync()));
        Assert.Equal(chunks[2], await payload.ReadChunkAsync(2));
    }

    [Fact]
    public async Task CompleteChecked_WithAnotherSha256_IsInvalid_AndCommitsNothing()
    {
        var payload = NewPayload();
        var upload = await WriteAsync(payload, [1, 2, 3], [4]);

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.CompleteCheckedAsync(upload, 4, Sha([1, 2, 3], [5])));

        Assert.Equal(SmpcErrorCode.Validation, error.Code);
        Assert.Contains(Sha([1, 2, 3], [4]), error.Message, StringComparison.Ordinal);
        Assert.Equal(SmpcErrorCode.NotFound, await FailsWithAsync(() => payload.GetManifestAsync()));
        Assert.Equal(new PayloadUploadStatus(upload, 2, 4, Completed: false), await payload.GetUploadAsync(upload));
        Assert.Equal(4, (await payload.CompleteCheckedAsync(upload, 4, Sha([1, 2, 3], [4]))).Length); // the upload can still be completed
    }

    [Fact]
    public async Task CompleteChecked_WithAnotherLength_IsInvalid_AndCommitsNothing()
    {
        var payload = NewPayload();
        var upload = await WriteAsync(payload, [1, 2, 3]);

        Assert.Equal(SmpcErrorCode.Validation, await FailsWithAsync(() => payload.CompleteCheckedAsync(upload, 4, Sha([1, 2, 3]))));
        Assert.Equal(SmpcErrorCode.Validation, await FailsWithAsync(() => payload.CompleteCheckedAsync(upload, 2, Sha([1, 2, 3]))));
        Assert.Equal(SmpcErrorCode.NotFound, await FailsWithAsync(() => payload.GetManifestAsync()));
    }

    [Fact]
    public async Task CompleteChecked_Retried_AnswersTheSameManifest_ButNotForOtherBytes()
    {
        var payload = NewPayload();
        var upload = await WriteAsync(payload, [1, 2, 3]);
        var first = await payload.CompleteCheckedAsync(upload, 3, Sha([1, 2, 3]));

        var again = await payload.CompleteCheckedAsync(upload, 3, Sha([1, 2, 3]));

        Assert.Equal(Text(first), Text(again));
        Assert.Equal(SmpcErrorCode.Validation, await FailsWithAsync(() => payload.CompleteCheckedAsync(upload, 3, Sha([3, 2, 1]))));
        Assert.Equal(SmpcErrorCode.WrongPhase, await FailsWithAsync(() => payload.WriteChunkAsync(upload, 1, [4])));
    }

    [Fact]
    public async Task AnIdenticalReupload_IsCompleted_AndItsCompletionMayBeRetried()
    {
        var payload = NewPayload();
        var original = await payload.CompleteAsync(await WriteAsync(payload, [1, 2, 3]), 3, Sha([1, 2, 3]));
        var reupload = await WriteAsync(payload, [1, 2, 3]);

        var first = await payload.CompleteCheckedAsync(reupload, 3, Sha([1, 2, 3]));
        var retried = await payload.CompleteCheckedAsync(reupload, 3, Sha([1, 2, 3]));

        Assert.Equal(Text(original), Text(first));
        Assert.Equal(Text(original), Text(retried));
        Assert.Equal(new PayloadUploadStatus(reupload, 1, 3, Completed: true), await payload.GetUploadAsync(reupload));
        Assert.Equal(1, await cluster.Storage.ScalarAsync($"SELECT count(*) FROM smpc_payload_chunk WHERE payload_key = '{original.Key}'"));
    }

    [Fact]
    public async Task CompleteChecked_ReadsTheChunksBack_SoAChunkCorruptedInStorageIsNotCommitted()
    {
        var payload = NewPayload();
        var upload = await WriteAsync(payload, [1, 2, 3]);
        await cluster.Storage.ExecuteAsync($"UPDATE smpc_payload_chunk SET data = X'010204' WHERE upload_id = '{upload:D}'");

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.CompleteCheckedAsync(upload, 3, Sha([1, 2, 3])));

        Assert.Equal(SmpcErrorCode.StorageUnavailable, error.Code);
        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
        Assert.Equal(SmpcErrorCode.NotFound, await FailsWithAsync(() => payload.GetManifestAsync()));
    }

    [Fact]
    public async Task CompleteChecked_OfAnUploadNeverBegun_IsTheWrongPhase()
    {
        Assert.Equal(SmpcErrorCode.WrongPhase, await FailsWithAsync(() => NewPayload().CompleteCheckedAsync(Guid.NewGuid(), 3, Sha([1, 2, 3]))));
    }

    [Fact]
    public async Task ANegativeChunkIndex_IsAConflictNamingTheExpectedChunk()
    {
        var payload = NewPayload();
        var upload = await payload.BeginAsync();

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.WriteChunkAsync(upload, -1, [1]));

        Assert.Equal(SmpcErrorCode.Conflict, error.Code);
        Assert.Contains("Expected chunk 0", error.Message, StringComparison.Ordinal);
    }
}
