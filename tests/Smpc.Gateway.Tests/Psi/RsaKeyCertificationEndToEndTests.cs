using System.Net;
using System.Text.Json;
using Smpc.Agent.DataSources;
using Smpc.Client;
using Smpc.Client.Psi;
using Smpc.Client.Records;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.Randomness;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Smpc.Gateway.Tests.Psi;

/// <summary>
/// Certified RSA keys through the real service: a pod serving a key that is not a permutation (65537 | p − 1), an old pod
/// without a proof, a replayed proof or e = 3 makes the modeller cancel with the reason before any query element exists.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class RsaKeyCertificationEndToEndTests(EmbeddedService service)
{
    public enum BadPod
    {
        /// <summary>65537 | p − 1, with the pod's best roots (right only for challenges that are e-th powers mod p).</summary>
        EDividesPMinusOne,

        /// <summary>An honest key, but no proof (an agent that predates certified keys).</summary>
        NoProof,

        /// <summary>An honest key with its proof for another session id (a replay).</summary>
        ProofForAnotherSession,

        /// <summary>An honest modulus with e = 3 (the service still takes any odd e ≥ 3).</summary>
        ExponentThree,
    }

    [Theory]
    [InlineData(BadPod.EDividesPMinusOne, RsaKeyRefusal.ProofInvalid)]
    [InlineData(BadPod.NoProof, RsaKeyRefusal.ProofMissing)]
    [InlineData(BadPod.ProofForAnotherSession, RsaKeyRefusal.ProofInvalid)]
    [InlineData(BadPod.ExponentThree, RsaKeyRefusal.ExponentNot65537)]
    public async Task APodWithABadKey_MakesTheModellerCancel_AndNoQueryElementIsEverBlindedOrUploaded(BadPod pod, RsaKeyRefusal reason)
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var podTask = ServeBadKeyAsync(t, "bad", pod);
        var steps = new List<string>();
        var modeller = new PsiModellerRun(t.Modeller, t.Tenant, "m1") { Progress = new SynchronousProgress(p => { lock (steps) steps.Add(p.Step); }) };

        var refusal = await Assert.ThrowsAsync<RsaKeyRefusedException>(() => modeller.RunAsync(
            "bad", "p1", PsiScenario.Spec(PsiProtocolNames.RsaBlind, PsiModeNames.Intersection),
            RecordSources.Opener(new RecordSourceConfig { Kind = "csv", Path = "modeller.csv" }, scenario.Folder), scenario.OutputCsv));
        await podTask;

        Assert.Equal(reason, refusal.Reason);
        Assert.DoesNotContain("blind", steps); // not one element was blinded under the pod's key
        var session = await t.Modeller.GetSessionAsync(t.Tenant, "bad");
        Assert.Equal(SessionPhases.Cancelled, session.Phase);
        Assert.Contains($"({refusal.ReasonCode})", session.Cancellation!.Reason);
        Assert.False(session.Psi!.QueryStored);
        var download = await Assert.ThrowsAsync<SmpcApiException>(() =>
            t.Pods["p1"].ReadPsiSetAsync(t.Tenant, "bad", PsiPayloads.Query, 256, 8, _ => Task.CompletedTask));
        Assert.NotEqual(HttpStatusCode.OK, download.Status);
        Assert.False(File.Exists(scenario.OutputCsv));
    }

    [Fact]
    public async Task AnHonestPod_SendsAProofTheServiceStoresAndServes()
    {
        using var scenario = new PsiScenario();
        scenario.Write(PsiScenario.ModellerRows, PsiScenario.PodRows);
        var t = await Scenario.TenantAsync(service, ["p1"]);
        var (outcome, failure, _) = await scenario.RunAsync(t, PsiScenario.Spec(PsiProtocolNames.RsaBlind, PsiModeNames.Cardinality), sessionId: "honest");

        Assert.Null(failure);
        Assert.Equal(5, outcome!.Count);
        var psi = outcome.Session.Psi!;
        var proof = Convert.FromBase64String(psi.KeyProof!);
        Assert.Equal(RsaKeyCertification.ProofLength(256), proof.Length);
        var key = RsaPsiPublicKey.Parse(Convert.FromBase64String(psi.PublicKey!));
        RsaKeyCertification.Verify(key, proof, new RsaKeyBinding(t.Tenant, "honest"), 2048);
        Assert.Throws<RsaKeyRefusedException>(() => RsaKeyCertification.Verify(key, proof, new RsaKeyBinding(t.Tenant, "other"), 2048));
    }

    /// <summary>A hand-written pod: waits for the session, then accepts it with a key the modeller must refuse.</summary>
    private static async Task ServeBadKeyAsync(TenantClients t, string sessionId, BadPod kind)
    {
        var client = t.Pods["p1"];
        while (true)
        {
            var sessions = await client.ListPodSessionsAsync(t.Tenant, "p1");
            if (sessions.Contains(sessionId)) break;
            await client.WaitForPodSessionsAsync(t.Tenant, "p1", sessions.LastOrDefault() ?? "-", 5);
        }

        var binding = new RsaKeyBinding(t.Tenant, sessionId);
        RsaPsiPublicKey key;
        byte[]? proof;
        if (kind == BadPod.EDividesPMinusOne)
        {
            (key, proof) = MaliciousKeyAndProof(binding);
        }
        else
        {
            using var honest = new RsaPsiServer(PsiMode.Intersection, SystemRandomSource.Instance, 2048);
            key = kind == BadPod.ExponentThree ? honest.PublicKey with { Exponent = [3] } : honest.PublicKey;
            proof = kind switch
            {
                BadPod.NoProof => null,
                BadPod.ProofForAnotherSession => honest.ProveKey(binding with { SessionId = "another" }),
                _ => honest.ProveKey(binding),
            };
        }

        await client.AcceptPsiAsync(t.Tenant, sessionId, new PsiAcceptRequest(Convert.ToBase64String(key.ToBytes()), KeyProof: proof is null ? null : Convert.ToBase64String(proof)));
    }

    /// <summary>The malicious key of docs/protocols/vectors/rsa-psi.json and the e-th roots its owner can take (d' = e^-1 mod ((p−1)/e)·(q−1)).</summary>
    private static (RsaPsiPublicKey Key, byte[] Proof) MaliciousKeyAndProof(RsaKeyBinding binding)
    {
        using var vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Psi", "rsa-psi.json")));
        var bad = vectors.RootElement.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "malicious-2048");
        byte[] Field(string name) => Convert.FromHexString(bad.GetProperty(name).GetString()!);
        var key = new RsaPsiPublicKey(Field("n"), Field("e"));
        var (n, p, q, e) = (new BigInteger(1, Field("n")), new BigInteger(1, Field("p")), new BigInteger(1, Field("q")), BigInteger.ValueOf(65537));
        var dPrime = e.ModInverse(p.Subtract(BigInteger.One).Divide(e).Multiply(q.Subtract(BigInteger.One)));
        var proof = new byte[RsaKeyCertification.ProofLength(256)];
        proof[0] = RsaKeyCertification.FormatVersion;
        proof[1] = RsaKeyCertification.Rounds;
        var challenges = RsaKeyCertification.Challenges(key, binding);
        for (var i = 0; i < challenges.Length; i++)
        {
            var sigma = new BigInteger(1, challenges[i]).ModPow(dPrime, n).ToByteArrayUnsigned();
            sigma.CopyTo(proof, 2 + ((i + 1) * 256) - sigma.Length);
        }

        return (key, proof);
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; posts later, after the assertion may have run).</summary>
    private sealed class SynchronousProgress(Action<PsiProgress> report) : IProgress<PsiProgress>
    {
        public void Report(PsiProgress value) => report(value);
    }
}
