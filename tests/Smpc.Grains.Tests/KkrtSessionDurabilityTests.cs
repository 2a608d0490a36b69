using System.Security.Cryptography;
using Orleans.Core.Internal;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Grains.Tests;

/// <summary>A kkrt session's progress (the stored setup, then the pod's set size from the reply) is durable: a fresh activation reads it back.</summary>
public sealed class KkrtSessionDurabilityTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private readonly IGrainFactory _grains = cluster.Grains;

    [Fact]
    public async Task SetupQueryAndReply_SurviveReactivation()
    {
        var tenant = await Seed.TenantWithMembersAsync(_grains);
        var key = new EntityKey(tenant, "kkrt1");
        var pod = Caller.Pod(tenant, "p1");
        var spec = new PsiSpec(PsiProtocols.Kkrt, PsiModes.Intersection, [new PsiColumn("email", "email")], [new PsiColumn("mail", "email")], "customers", 10, 0,
            TimeSpan.FromMinutes(10), KkrtPsiVersion.Current);
        await _grains.GetSession(key).CreateAsync(Seed.Modeller(tenant), new CreateSession("m1", SessionKind.PrivateSetIntersection, ["p1"], Psi: spec));
        var session = _grains.GetPsiSession(key);
        await session.AcceptPsiAsync(pod, new PsiAccept(null, false, Version: KkrtPsiVersion.Current));

        await UploadAsync(session, pod, PsiPayload.ServerSet, KkrtParameters.SetupBytes);
        await Reactivate(session);
        var afterSetup = (await session.GetAsync(Seed.Modeller(tenant))).Psi!;
        Assert.Equal((true, (long?)null, false), (afterSetup.PodSetStored, afterSetup.ServerSetSize, afterSetup.QueryStored));

        await UploadAsync(session, Seed.Modeller(tenant), PsiPayload.Query, KkrtParameters.QueryBytes(10));
        await UploadAsync(session, pod, PsiPayload.Reply, (int)KkrtParameters.ReplyBytes(10, 7));
        await Reactivate(session);
        var answered = await session.GetAsync(Seed.Modeller(tenant));

        Assert.Equal((SessionPhase.Answered, true, (long?)7, true), (answered.Phase, answered.Psi!.PodSetStored, answered.Psi.ServerSetSize, answered.Psi.ReplyStored));
        Assert.Equal((long)KkrtParameters.SetupBytes, (await _grains.GetPayload(PayloadKey.Parse((await session.GetPsiPayloadAsync(Seed.Modeller(tenant), PsiPayload.ServerSet))!)).GetManifestAsync()).Length);
    }

    private async Task UploadAsync(IPsiSessionGrain session, Caller caller, PsiPayload payload, long length)
    {
        var upload = await session.BeginPsiUploadAsync(caller, payload);
        if (payload != PsiPayload.Reply) Assert.Equal(length, upload.MaxBytes); // setup and query: exact lengths
        var bytes = RandomNumberGenerator.GetBytes((int)length);
        var grain = _grains.GetPayload(PayloadKey.Parse(upload.PayloadKey));
        for (var offset = 0; offset < bytes.Length; offset += upload.ChunkBytes)
            await grain.WriteChunkAsync(upload.UploadId, offset / upload.ChunkBytes, bytes[offset..Math.Min(offset + upload.ChunkBytes, bytes.Length)]);
        await grain.CompleteAsync(upload.UploadId, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        await session.CommitPsiUploadAsync(caller, payload, empty: false);
    }

    private static async Task Reactivate(IPsiSessionGrain session) => await session.Cast<IGrainManagementExtension>().DeactivateOnIdle();
}
