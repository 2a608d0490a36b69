using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Sessions;
using Smpc.Grains.Storage;
using Smpc.Protocols.Field;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Grains.Tests;

/// <summary>
/// The masked sum runs outside the turn that fixed the survivors and survives a restart: a session stored mid-sum (U3 fixed,
/// the sum's upload holding its first chunk, as a silo that died there leaves it) resumes when it is activated again, sums
/// only the chunks still missing, seals the sum and opens unmasking.
/// </summary>
public sealed class MaskedSumResumeTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private const int ChunkElements = SessionParameters.DefaultChunkElements;

    // Three chunks, the last one short.
    private const int Length = (2 * ChunkElements) + 5;

    [Fact]
    public async Task ASumInterruptedAfterItsFirstChunk_ResumesOnActivation_AndOpensUnmasking()
    {
        var grains = cluster.Grains;
        var tenant = await Seed.TenantWithMembersAsync(grains);
        var key = new EntityKey(tenant, "resumed-sum");
        var modeller = Seed.Modeller(tenant);
        var spec = Seed.Spec() with { Fields = [new AggregationField("x", Length, 10_000_000_000, -100, 100)] };

        // The survivors' masked vectors, stored as their pods would have uploaded them.
        var q = PrimeField.Default.Modulus;
        var random = new Random(5); // test data, not cryptography
        var vectors = Enumerable.Range(1, 3).ToDictionary(p => p, _ => Enumerable.Range(0, Length).Select(_ => (ulong)random.NextInt64((long)q)).ToArray());
        var constraints = new PayloadConstraints((long)Length * sizeof(ulong), ChunkElements * sizeof(ulong), q);
        foreach (var (party, vector) in vectors) await StoreAsync(grains.GetPayload(new PayloadKey(key, $"masked-{party}")), constraints, vector);
        var expected = new ulong[Length];
        for (var i = 0; i < Length; i++) expected[i] = vectors.Values.Aggregate(0UL, (sum, v) => (ulong)(((UInt128)sum + v[i]) % q));

        // What a silo that died after the sum's first chunk leaves: U3 fixed (no deadline), the upload holding chunk 0. The
        // session's row is written before its grain was ever activated here, as a fresh activation after a restart reads it.
        // Its first element is marked (one more mod q): a resumed sum keeps the stored chunk; one that started over would
        // sum chunk 0 again, which the upload refuses as a different chunk 0.
        expected[0] = (expected[0] + 1) % q;
        var sumPayload = grains.GetPayload(new PayloadKey(key, "masked-sum"));
        var upload = await sumPayload.BeginAsync(constraints);
        await sumPayload.WriteChunkAsync(upload, 0, MemoryMarshal.AsBytes(expected.AsSpan(0, ChunkElements)).ToArray());
        await WriteStateAsync(key, new SecureAggregationSessionState
        {
            ModellerId = "m1", Kind = SessionKind.SecureAggregation, PodIds = ["p1", "p2", "p3"], Phase = SessionPhase.MaskedInput,
            CreatedAt = DateTimeOffset.UtcNow, Version = 7, Spec = spec, Threshold = 2, SumUploadId = upload,
            Round = new SecureAggregationRoundState
            {
                Phase = SecureAggregationPhase.MaskedInput, KeyHolders = [1, 2, 3], ShareSenders = [1, 2, 3], MaskedInputs = [1, 2, 3], Survivors = [1, 2, 3],
            },
        });

        var grain = grains.GetSecureAggregationSession(key);
        var session = await grain.GetAsync(modeller); // activates the grain, which resumes the sum
        for (var polls = 0; session.Phase == SessionPhase.MaskedInput && polls < 100; polls++)
            session = await grain.WaitForChangeAsync(modeller, session.Version, TimeSpan.FromSeconds(10));

        Assert.Equal(SessionPhase.Unmasking, session.Phase);
        var manifest = await sumPayload.GetManifestAsync();
        var bytes = MemoryMarshal.AsBytes(expected.AsSpan()).ToArray();
        Assert.Equal((upload, bytes.LongLength, Convert.ToHexStringLower(SHA256.HashData(bytes))), (manifest.UploadId, manifest.Length, manifest.Sha256));
        for (var chunk = 0; chunk < 3; chunk++)
            Assert.Equal(bytes.AsSpan(chunk * ChunkElements * sizeof(ulong), manifest.ChunkLengths[chunk]).ToArray(), await sumPayload.ReadChunkAsync(chunk));
        var material = UnmaskRequest.Parse(await grain.GetUnmaskRequestAsync(modeller));
        Assert.Equal([1, 2, 3], material.Survivors);
    }

    private static async Task StoreAsync(IPayloadGrain payload, PayloadConstraints constraints, ulong[] vector)
    {
        var bytes = MemoryMarshal.AsBytes(vector.AsSpan()).ToArray();
        var upload = await payload.BeginAsync(constraints);
        for (var (offset, chunk) = (0, 0); offset < bytes.Length; offset += constraints.ChunkBytes, chunk++)
            await payload.WriteChunkAsync(upload, chunk, bytes[offset..Math.Min(offset + constraints.ChunkBytes, bytes.Length)]);
        await payload.CompleteAsync(upload, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private Task WriteStateAsync(EntityKey key, SecureAggregationSessionState state)
    {
        var storage = cluster.Cluster.GetSiloServiceProvider().GetRequiredKeyedService<IGrainStorage>(SmpcDatabase.GrainStorageName);
        return storage.WriteStateAsync("secagg", GrainId.Create("session-secagg", key.ToString()), new GrainState<SecureAggregationSessionState>(state));
    }
}
