using System.Security.Cryptography;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;

namespace Smpc.Grains.Tests;

public sealed class PayloadGrainTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private readonly IGrainFactory _grains = cluster.Grains;

    private IPayloadGrain NewPayload() => _grains.GetPayload(new PayloadKey(new EntityKey(Seed.NewTenantId(), "s1"), "input"));

    private static string Sha(params byte[][] chunks) => Convert.ToHexStringLower(SHA256.HashData(chunks.SelectMany(c => c).ToArray()));

    private static async Task<PayloadManifest> UploadAsync(IPayloadGrain payload, params byte[][] chunks)
    {
        var upload = await payload.BeginAsync();
        for (var i = 0; i < chunks.Length; i++) await payload.WriteChunkAsync(upload, i, chunks[i]);
        return await payload.CompleteAsync(upload, chunks.Sum(c => c.Length), Sha(chunks));
    }

    [Fact]
    public async Task Upload_ThenRead_ReturnsTheSameBytes_AndStateHoldsOnlyTheManifest()
    {
        var payload = NewPayload();
        byte[][] chunks = [RandomNumberGenerator.GetBytes(1000), RandomNumberGenerator.GetBytes(500)];

        var manifest = await UploadAsync(payload, chunks);

        Assert.Equal(1500, manifest.Length);
        Assert.Equal([1000, 500], manifest.ChunkLengths);
        Assert.Equal(chunks[0], await payload.ReadChunkAsync(0));
        Assert.Equal(chunks[1], await payload.ReadChunkAsync(1));
        var largestState = await cluster.Storage.ScalarAsync("SELECT max(length(PayloadBinary)) FROM OrleansStorage WHERE GrainTypeString = 'payload'");
        Assert.InRange(largestState, 1, 1000); // the manifest, not the 1500 bytes
    }

    [Fact]
    public async Task IdenticalReupload_IsIdempotent_AndLeavesNoExtraChunks()
    {
        var payload = NewPayload();
        var first = await UploadAsync(payload, [1, 2, 3]);
        var second = await UploadAsync(payload, [1, 2, 3]);

        Assert.Equal((first.UploadId, first.Sha256, first.CompletedAt), (second.UploadId, second.Sha256, second.CompletedAt));
        var rows = await cluster.Storage.ScalarAsync($"SELECT count(*) FROM smpc_payload_chunk WHERE payload_key = '{first.Key}'");
        Assert.Equal(1, rows);
    }

    [Fact]
    public async Task DifferentReupload_IsAConflict_AndTheOriginalStays()
    {
        var payload = NewPayload();
        await UploadAsync(payload, [1, 2, 3]);

        var error = await Assert.ThrowsAsync<SmpcException>(() => UploadAsync(payload, [9, 9, 9]));

        Assert.Equal(SmpcErrorCode.Conflict, error.Code);
        Assert.Equal([1, 2, 3], await payload.ReadChunkAsync(0));
    }

    [Fact]
    public async Task ChunkOutOfOrder_IsAConflict_ButARetriedChunkIsAccepted()
    {
        var payload = NewPayload();
        var upload = await payload.BeginAsync();
        await payload.WriteChunkAsync(upload, 0, [1]);
        await payload.WriteChunkAsync(upload, 0, [1]); // retry of the last chunk

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.WriteChunkAsync(upload, 2, [3]));

        Assert.Equal(SmpcErrorCode.Conflict, error.Code);
        await payload.WriteChunkAsync(upload, 1, [2]);
        Assert.Equal(2, (await payload.CompleteAsync(upload, 2, Sha([1], [2]))).Length);
    }

    [Fact]
    public async Task ChunkOfASupersededUpload_IsRejected()
    {
        var payload = NewPayload();
        var stale = await payload.BeginAsync();
        await payload.BeginAsync();

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.WriteChunkAsync(stale, 0, [1]));

        Assert.Equal(SmpcErrorCode.WrongPhase, error.Code);
    }

    [Fact]
    public async Task CompleteWithWrongLength_IsRejected()
    {
        var payload = NewPayload();
        var upload = await payload.BeginAsync();
        await payload.WriteChunkAsync(upload, 0, [1, 2]);

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.CompleteAsync(upload, 3, Sha([1, 2])));

        Assert.Equal(SmpcErrorCode.Validation, error.Code);
        Assert.Equal(SmpcErrorCode.NotFound, (await Assert.ThrowsAsync<SmpcException>(() => payload.GetManifestAsync())).Code);
    }

    [Fact]
    public async Task OversizedChunk_IsRejected()
    {
        var payload = NewPayload();
        var upload = await payload.BeginAsync();

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.WriteChunkAsync(upload, 0, new byte[Storage.PayloadChunkStore.MaxChunkBytes + 1]));

        Assert.Equal(SmpcErrorCode.TooLarge, error.Code);
    }

    [Fact]
    public async Task CorruptedChunkInStorage_IsDetectedOnRead()
    {
        var payload = NewPayload();
        var manifest = await UploadAsync(payload, [1, 2, 3]);
        await cluster.Storage.ExecuteAsync($"UPDATE smpc_payload_chunk SET data = X'010204' WHERE payload_key = '{manifest.Key}'");

        var error = await Assert.ThrowsAsync<SmpcException>(() => payload.ReadChunkAsync(0));

        Assert.Equal(SmpcErrorCode.StorageUnavailable, error.Code);
        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
    }
}
