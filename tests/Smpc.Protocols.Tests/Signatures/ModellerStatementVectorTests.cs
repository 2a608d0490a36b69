using System.Text.Json;
using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Signatures;

namespace Smpc.Protocols.Tests.Signatures;

/// <summary>
/// docs/protocols/vectors/signatures.json, written by an independent Python implementation of signatures.md: every
/// statement is recomputed here from the case's fields, and the test identity's signature is reproduced and verifies.
/// </summary>
public sealed class ModellerStatementVectorTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static readonly Lazy<JsonDocument> File = new(() =>
        JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Signatures", "signatures.json"))));

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in File.Value.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_statement_is_recomputed_from_its_fields_and_its_signature_reproduced(string name)
    {
        var root = File.Value.RootElement;
        var c = root.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var tenant = c.GetProperty("tenant").GetString()!;
        var statement = c.GetProperty("kind").GetString() switch
        {
            "session" => ModellerStatements.Session(tenant, c.GetProperty("request").Deserialize<CreateSessionRequest>(Web)!),
            "cancel" => ModellerStatements.Cancel(tenant, c.GetProperty("session").GetString()!, c.GetProperty("reason").GetString()),
            "content-key" => ModellerStatements.ContentKeySeal(tenant, c.GetProperty("session").GetString()!, c.GetProperty("pod").GetString()!,
                Convert.FromHexString(c.GetProperty("memberPublicKey").GetString()!), Convert.FromHexString(c.GetProperty("box").GetString()!)),
            "release" => ModellerStatements.Release(tenant, c.GetProperty("session").GetString()!, c.GetProperty("releaseName").GetString()!,
                Convert.FromHexString(c.GetProperty("box").GetString()!)),
            var kind => throw new InvalidOperationException($"unknown case kind {kind}"),
        };

        Assert.Equal(c.GetProperty("statement").GetString(), Convert.ToHexStringLower(statement));
        using var identity = Ed25519KeyPair.FromPrivateKey(Convert.FromHexString(root.GetProperty("seed").GetString()!));
        Assert.Equal(root.GetProperty("publicKey").GetString(), Convert.ToHexStringLower(identity.PublicKey));
        Assert.Equal(c.GetProperty("signature").GetString(), Convert.ToHexStringLower(identity.Sign(statement)));
        Assert.True(Ed25519KeyPair.Verify(identity.PublicKey, statement, Convert.FromHexString(c.GetProperty("signature").GetString()!)));
    }

    public static TheoryData<string> SignedCases()
    {
        var data = new TheoryData<string>();
        foreach (var c in File.Value.RootElement.GetProperty("cases").EnumerateArray())
            if (c.TryGetProperty("signed", out _)) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(SignedCases))]
    public void Each_signed_channel_payload_is_reproduced_and_verifies(string name)
    {
        var root = File.Value.RootElement;
        var c = root.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var (tenant, session, box) = (c.GetProperty("tenant").GetString()!, c.GetProperty("session").GetString()!, Convert.FromHexString(c.GetProperty("box").GetString()!));
        using var identity = Ed25519KeyPair.FromPrivateKey(Convert.FromHexString(root.GetProperty("seed").GetString()!));
        var expected = c.GetProperty("signed").GetString();
        if (c.GetProperty("kind").GetString() == "content-key")
        {
            var (pod, member) = (c.GetProperty("pod").GetString()!, Convert.FromHexString(c.GetProperty("memberPublicKey").GetString()!));
            Assert.Equal(expected, Convert.ToHexStringLower(Smpc.Protocols.Federated.FederatedChannel.SignContentKeySeal(identity, tenant, session, pod, member, box)));
            Assert.Equal(box, Smpc.Protocols.Federated.FederatedChannel.VerifyContentKeySeal(identity.PublicKey, Convert.FromHexString(expected!), tenant, session, pod, member));
        }
        else
        {
            var release = c.GetProperty("releaseName").GetString()!;
            Assert.Equal(expected, Convert.ToHexStringLower(Smpc.Protocols.Federated.FederatedChannel.SignRelease(identity, tenant, session, release, box)));
            Assert.Equal(box, Smpc.Protocols.Federated.FederatedChannel.VerifyRelease(identity.PublicKey, Convert.FromHexString(expected!), tenant, session, release));
        }
    }
}
