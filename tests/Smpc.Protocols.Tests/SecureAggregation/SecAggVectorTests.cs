using System.Text.Json;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Federated;
using Smpc.Protocols.Field;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecretSharing;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>
/// The C# code against docs/protocols/vectors/secagg.json, which an independent Python implementation of the documents
/// (generate_secagg.py) produced: every byte layout, key derivation and AEAD of secure aggregation and the federated
/// channel, with the randomness each step draws fixed to the vector's.
/// </summary>
public sealed class SecAggVectorTests
{
    private static readonly JsonElement Root = Load();

    [Fact]
    public void LowOrderPoints_AreExactlyTheScreenedEncodings()
    {
        var points = Root.GetProperty("lowOrderPoints").EnumerateArray().Select(p => Hex.Bytes(p.GetString()!)).ToList();
        Assert.Equal(14, points.Count);
        Assert.All(points, p => Assert.True(X25519KeyPair.IsLowOrder(p)));
    }

    [Fact]
    public void Parameters_CanonicalEncodingAndDigest()
    {
        var p = Parameters();
        Assert.Equal(Bytes("parameters", "canonical"), p.ToCanonicalBytes());
        Assert.Equal(Bytes("parameters", "digest"), p.Digest());
    }

    [Fact]
    public void SealedBox_WithAFixedEphemeralKey()
    {
        var v = Root.GetProperty("sealedBox");
        using var recipient = X25519KeyPair.FromPrivateKey(Bytes(v, "recipientPrivate"));
        Assert.Equal(Bytes(v, "recipientPublic"), recipient.PublicKey);
        var box = SealedBox.Seal(recipient.PublicKey, Bytes(v, "plaintext"), Bytes(v, "associatedData"), new FixedRandom(Bytes(v, "ephemeralRandom")));
        Assert.Equal(Bytes(v, "box"), box);
        Assert.Equal(Bytes(v, "plaintext"), SealedBox.Open(recipient, box, Bytes(v, "associatedData")));
    }

    [Fact]
    public void Shamir_WithFixedCoefficients_AndAnyThreeSharesRecombine()
    {
        var v = Root.GetProperty("shamir");
        var holders = v.GetProperty("holders").EnumerateArray().Select(h => h.GetInt32()).ToArray();
        var shares = ShamirSecretSharing.Split(Bytes(v, "secret"), v.GetProperty("threshold").GetInt32(), holders, new FixedRandom(Bytes(v, "coefficients")));
        var expected = v.GetProperty("shares").EnumerateArray().Select(s => (X: s.GetProperty("x").GetInt32(), Value: Hex.Bytes(s.GetProperty("value").GetString()!))).ToList();
        Assert.Equal(expected.Select(e => e.X), shares.Select(s => (int)s.Index));
        Assert.Equal(expected.Select(e => e.Value), shares.Select(s => s.Value));
        Assert.Equal(Bytes(v, "secret"), ShamirSecretSharing.Combine([shares[3], shares[1], shares[2]], 3));
    }

    [Fact]
    public void ShareEnvelope_PlaintextKeyBoxAndMessage()
    {
        var v = Root.GetProperty("shareEnvelope");
        var p = Parameters();
        int from = v.GetProperty("from").GetInt32(), to = v.GetProperty("to").GetInt32();
        using var sender = X25519KeyPair.FromPrivateKey(Bytes(v, "sealPrivateFrom"));
        using var receiver = X25519KeyPair.FromPrivateKey(Bytes(v, "sealPrivateTo"));
        Assert.Equal(Bytes(v, "sealPublicFrom"), sender.PublicKey);
        Assert.Equal(Bytes(v, "sealPublicTo"), receiver.PublicKey);

        var plaintext = SessionRules.EncodeSharePair(from, to, (byte)to, Bytes(v, "selfMaskShare"), Bytes(v, "maskKeyShare"));
        Assert.Equal(Bytes(v, "plaintext"), plaintext);
        Assert.Equal(Bytes(v, "associatedData"), SessionRules.ShareAssociatedData(p, from, to));

        // Both ends derive the same directional key, each from its own private key.
        var key = SessionRules.EnvelopeKey(p, sender, from, to, sender.PublicKey, receiver.PublicKey);
        Assert.Equal(Bytes(v, "key"), key);
        Assert.Equal(Bytes(v, "key"), SessionRules.EnvelopeKey(p, receiver, from, to, sender.PublicKey, receiver.PublicKey));

        var box = PairwiseBox.Seal(key, plaintext, SessionRules.ShareAssociatedData(p, from, to), new FixedRandom(Bytes(v, "nonceRandom")));
        Assert.Equal(Bytes(v, "box"), box);
        Assert.Equal(Bytes(v, "message"), new ShareEnvelope(p.SessionId, from, to, box).ToBytes());
        var (selfShare, keyShare) = SessionRules.DecodeSharePair(PairwiseBox.Open(key, box, SessionRules.ShareAssociatedData(p, from, to), "vector"), from, to);
        Assert.Equal(Bytes(v, "selfMaskShare"), selfShare);
        Assert.Equal(Bytes(v, "maskKeyShare"), keyShare);
    }

    [Fact]
    public void UnmaskRequestAndResponse_BytesSignatureAndSeal()
    {
        var v = Root.GetProperty("unmask");
        var p = Parameters();
        var request = new UnmaskRequest(p.SessionId, Ints(v, "shareSenders"), Ints(v, "survivors"));
        Assert.Equal(Bytes(v, "request"), request.ToBytes());
        Assert.Equal(Bytes(v, "requestDigest"), request.Digest());

        var party = v.GetProperty("party").GetInt32();
        using var identity = Ed25519KeyPair.FromPrivateKey(Bytes(v, "identitySeed"));
        Assert.Equal(Bytes(v, "identityPublic"), identity.PublicKey);
        var entries = v.GetProperty("entries").EnumerateArray()
            .Select(e => (e.GetProperty("owner").GetInt32(), (byte)e.GetProperty("kind").GetInt32(), Hex.Bytes(e.GetProperty("share").GetString()!))).ToList();
        Assert.Equal(Bytes(v, "signedBytes"), SessionRules.ResponseSignedBytes(p, request, Bytes(v, "body")));
        var plaintext = SessionRules.EncodeResponse(p, request, identity, party, entries);
        Assert.Equal(Bytes(v, "plaintext"), plaintext);

        var ad = SessionRules.UnmaskAssociatedData(p, party, request);
        Assert.Equal(Bytes(v, "associatedData"), ad);
        var box = SealedBox.Seal(p.ModellerPublicKey, plaintext, ad, new FixedRandom(Bytes(v, "ephemeralRandom")));
        Assert.Equal(Bytes(v, "box"), box);
        Assert.Equal(Bytes(v, "message"), new UnmaskResponse(p.SessionId, party, box).ToBytes());

        using var modeller = X25519KeyPair.FromPrivateKey(Bytes("parameters", "modellerPrivate"));
        var decoded = SessionRules.DecodeResponse(p, request, SealedBox.Open(modeller, box, ad), party, identity.PublicKey);
        Assert.Equal(entries.Select(e => e.Item3), decoded.Select(e => e.Share));
    }

    [Fact]
    public void PairSeed_BetweenTwoMaskKeys()
    {
        var v = Root.GetProperty("pairSeed");
        var p = Parameters();
        using var lo = X25519KeyPair.FromPrivateKey(Bytes(v, "maskPrivateLo"));
        using var hi = X25519KeyPair.FromPrivateKey(Bytes(v, "maskPrivateHi"));
        int l = v.GetProperty("lo").GetInt32(), h = v.GetProperty("hi").GetInt32();
        var bundleOf = (int party, X25519KeyPair key) => new KeyBundle(p.SessionId, party, key.PublicKey, key.PublicKey, new byte[32], new byte[64]);
        Assert.Equal(Bytes(v, "seed"), SessionRules.PairSeed(p, lo, l, bundleOf(h, hi)));
        Assert.Equal(Bytes(v, "seed"), SessionRules.PairSeed(p, hi, h, bundleOf(l, lo)));
    }

    [Fact]
    public void MaskPrg_Streams()
    {
        var v = Root.GetProperty("maskPrg");
        foreach (var stream in v.GetProperty("streams").EnumerateArray())
        {
            var expected = stream.GetProperty("elements").EnumerateArray().Select(e => e.GetUInt64()).ToArray();
            using var prg = new MaskPrg(PrimeField.Create(stream.GetProperty("q").GetUInt64()), Bytes(v, "seed"), Bytes(v, "context"));
            var elements = new ulong[expected.Length];
            prg.Generate(0, elements);
            Assert.Equal(expected, elements);
        }

        Assert.Equal(Bytes(v, "context"), MaskContext.ForSelfMask("kat", 7, 3));
    }

    [Fact]
    public void FederatedChannel_ContentKeySealAndRelease()
    {
        var v = Root.GetProperty("federated");
        string tenant = Str(v, "tenant"), session = Str(v, "session"), pod = Str(v, "pod"), name = Str(v, "releaseName");
        using var member = X25519KeyPair.FromPrivateKey(Bytes(v, "memberPrivate"));
        Assert.Equal(Bytes(v, "memberPublic"), member.PublicKey);

        var sealedKey = FederatedChannel.SealContentKey(Bytes(v, "contentKey"), member.PublicKey, tenant, session, pod, new FixedRandom(Bytes(v, "ephemeralRandom")));
        Assert.Equal(Bytes(v, "sealedContentKey"), sealedKey);
        Assert.Equal(Bytes(v, "contentKey"), FederatedChannel.OpenContentKey(member, sealedKey, tenant, session, pod));

        var release = FederatedChannel.SealRelease(Bytes(v, "contentKey"), tenant, session, name, Bytes(v, "releasePlaintext"), new FixedRandom(Bytes(v, "releaseNonceRandom")));
        Assert.Equal(Bytes(v, "release"), release);
        Assert.Equal(Bytes(v, "releasePlaintext"), FederatedChannel.OpenRelease(Bytes(v, "contentKey"), tenant, session, name, release));
    }

    private static SessionParameters Parameters()
    {
        var v = Root.GetProperty("parameters");
        var fields = v.GetProperty("fields").EnumerateArray().Select(f => new FieldSpec(
            Str(f, "name"), f.GetProperty("length").GetInt32(), f.GetProperty("precision").GetInt64(), f.GetProperty("min").GetDouble(), f.GetProperty("max").GetDouble()));
        return SessionParameters.Create(
            Str(v, "session"), v.GetProperty("n").GetInt32(), new VectorLayout([.. fields]), Bytes(v, "modellerPublic"), v.GetProperty("t").GetInt32(),
            PrimeField.Create(v.GetProperty("q").GetUInt64()), v.GetProperty("round").GetUInt32(), v.GetProperty("chunk").GetInt32());
    }

    private static byte[] Bytes(JsonElement v, string name) => Hex.Bytes(Str(v, name));

    private static byte[] Bytes(string section, string name) => Bytes(Root.GetProperty(section), name);

    private static string Str(JsonElement v, string name) => v.GetProperty(name).GetString()!;

    private static int[] Ints(JsonElement v, string name) => [.. v.GetProperty(name).EnumerateArray().Select(e => e.GetInt32())];

    private static JsonElement Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "SecureAggregation", "secagg.json")));
        return document.RootElement.Clone();
    }

    /// <summary>Serves exactly the draws given, in order, each to one Fill of its length: a step drawing otherwise fails.</summary>
    private sealed class FixedRandom(params byte[][] draws) : IRandomSource
    {
        private int next;

        public void Fill(Span<byte> destination)
        {
            Assert.True(next < draws.Length, "the step drew more randomness than the specification says");
            Assert.Equal(draws[next].Length, destination.Length);
            draws[next++].CopyTo(destination);
        }
    }
}
