using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.Grains.Tests;

/// <summary>
/// The payload grain counts each chunk against its tenant's daily quota in the turn that stores it: concurrent uploads of
/// one tenant (payload grains on both silos, as two gateways would drive them) cannot together pass the quota.
/// </summary>
public sealed class PayloadQuotaTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private readonly IGrainFactory _grains = cluster.Grains;

    private IPayloadGrain Payload(string tenant, string name) => _grains.GetPayload(new PayloadKey(new EntityKey(tenant, "s1"), name));

    private async Task<long> UsedTodayAsync(string tenant, UsageKind kind) =>
        (await _grains.GetGrain<ITenantUsageGrain>($"{tenant}/{DateTime.UtcNow:yyyy-MM-dd}").GetAsync()).GetValueOrDefault(kind);

    [Fact]
    public async Task ConcurrentChunksOfOneTenant_NeverPassTheQuota_AndARefusedChunkIsNeitherStoredNorCounted()
    {
        var tenant = Seed.NewTenantId();
        var quota = new UploadQuota(PayloadBytesPerDay: 1_000, PsiElementsPerDay: 0);
        var payloads = Enumerable.Range(0, 8).Select(i => Payload(tenant, $"p{i}")).ToList();
        var uploads = await Task.WhenAll(payloads.Select(p => p.BeginAsync()));

        // Eight chunks of 300 bytes at once, interleaved across grains and silos: three fit under 1,000, five must not.
        var receipts = await Task.WhenAll(payloads.Select((p, i) => p.WriteChunkAsync(uploads[i], 0, new byte[300], quota)));

        Assert.Equal(3, receipts.Count(r => r.OverQuota is null));
        Assert.All(receipts.Where(r => r.OverQuota is not null), r => Assert.Equal((UsageKind.PayloadBytes, 0), (r.OverQuota!.Value, r.Upload.ChunksStored)));
        Assert.Equal(900, await UsedTodayAsync(tenant, UsageKind.PayloadBytes));
        var stored = await Task.WhenAll(payloads.Select((p, i) => p.GetUploadAsync(uploads[i])));
        Assert.Equal(900, stored.Sum(s => s.BytesStored));
    }

    [Fact]
    public async Task TwoDeclaredUploadsThatFitOnlyOneAtATime_CannotBothBeStoredWhole_AndWhatIsCountedIsWhatIsStored()
    {
        var tenant = Seed.NewTenantId();
        var quota = new UploadQuota(PayloadBytesPerDay: 1_000, PsiElementsPerDay: 0);
        var rules = new PayloadConstraints(ExactLength: 600, ChunkBytes: 200, ElementModulus: null);
        var (a, b) = (Payload(tenant, "a"), Payload(tenant, "b"));
        var (ua, ub) = (await a.BeginAsync(rules), await b.BeginAsync(rules));

        // Chunk by chunk, alternating, as two gateways streaming at the same time would.
        var results = new List<(string Upload, int Chunk, UsageKind? Over)>();
        for (var chunk = 0; chunk < 3; chunk++)
        {
            var both = await Task.WhenAll(a.WriteChunkAsync(ua, chunk, new byte[200], quota), b.WriteChunkAsync(ub, chunk, new byte[200], quota));
            results.Add(("a", chunk, both[0].OverQuota));
            results.Add(("b", chunk, both[1].OverQuota));
        }

        var used = await UsedTodayAsync(tenant, UsageKind.PayloadBytes);
        var progress = new[] { await a.GetUploadAsync(ua), await b.GetUploadAsync(ub) };
        Assert.InRange(used, 600, 1_000);
        Assert.Equal(used, progress.Sum(p => p.BytesStored)); // counted = stored
        Assert.Single(progress, p => p.BytesStored == 600); // exactly one can complete
        Assert.Contains(results, r => r.Over == UsageKind.PayloadBytes);
    }

    [Fact]
    public async Task PsiElements_AreCountedWithTheirBytes_InOneCharge()
    {
        var tenant = Seed.NewTenantId();
        var quota = new UploadQuota(PayloadBytesPerDay: 1_000_000, PsiElementsPerDay: 10);
        var payload = Payload(tenant, "psi-set");
        var upload = await payload.BeginAsync(new PayloadConstraints(0, 32 * 4, null, ElementBytes: 32, MaxLength: 1 << 20));

        Assert.Null((await payload.WriteChunkAsync(upload, 0, new byte[32 * 4], quota)).OverQuota);
        Assert.Null((await payload.WriteChunkAsync(upload, 1, new byte[32 * 4], quota)).OverQuota);
        var over = await payload.WriteChunkAsync(upload, 2, new byte[32 * 4], quota);

        Assert.Equal(UsageKind.PsiElements, over.OverQuota);
        Assert.Equal((8L, 256L), (await UsedTodayAsync(tenant, UsageKind.PsiElements), await UsedTodayAsync(tenant, UsageKind.PayloadBytes)));
    }

    [Fact]
    public async Task TheLastChunk_SealsTheUpload_AndItsRetryAnswersTheSameManifest_CountingNothingAgain()
    {
        var tenant = Seed.NewTenantId();
        var quota = new UploadQuota(PayloadBytesPerDay: 1_000, PsiElementsPerDay: 0);
        var payload = Payload(tenant, "sealed");
        var upload = await payload.BeginAsync();
        var bytes = new byte[] { 1, 2, 3, 4, 5 };
        var seal = new UploadSeal(5, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        await payload.WriteChunkAsync(upload, 0, bytes[..3], quota);

        var sealedOnce = await payload.WriteChunkAsync(upload, 1, bytes[3..], quota, seal);
        var retried = await payload.WriteChunkAsync(upload, 1, bytes[3..], quota, seal);

        Assert.NotNull(sealedOnce.Manifest);
        Assert.Equal((sealedOnce.Manifest!.Sha256, true), (retried.Manifest!.Sha256, retried.Upload.Completed));
        Assert.Equal(5, await UsedTodayAsync(tenant, UsageKind.PayloadBytes));
        Assert.Equal(seal.Sha256, (await payload.GetManifestAsync()).Sha256);
    }
}
