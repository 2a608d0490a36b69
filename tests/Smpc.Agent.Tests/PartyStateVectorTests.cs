using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Smpc.Protocols;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Agent.Tests;

/// <summary>
/// The party-state file the agent keeps, against docs/protocols/vectors/party-state.json: an independent Python implementation
/// of "State format (version 2)" gives the bytes; the party must export exactly them and import them, and a decoder written
/// here from the document (not from the party's code) reads the header and checks the MAC.
/// </summary>
public sealed class PartyStateVectorTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "party-state.json"))).RootElement;

    public static TheoryData<string> Cases() => [.. Vectors.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void ThePartyExportsTheVectorsBytes_AndImportsThem(string name)
    {
        var c = Case(name);
        var parameters = Parameters();
        using var identity = Ed25519KeyPair.FromPrivateKey(Hex(c, "identitySeed"));
        var party = c.GetProperty("party").GetInt32();
        var pins = new Dictionary<int, string> { [party] = identity.Fingerprint };
        var expected = Hex(c, "state");

        Assert.Equal(Hex(c, "parameterDigest"), parameters.Digest());
        using var created = new SecureAggregationParty(parameters, party, identity, new FixedRandom(Hex(c, "randomness")), pins);
        if (c.GetProperty("step").GetString() == "KeysPublished") Assert.Equal(Hex(c, "keyBundle"), created.CreateKeyBundle().ToBytes());
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(created.ExportState()));

        using var imported = SecureAggregationParty.ImportState(parameters, party, identity, new FixedRandom([]), pins, expected);
        Assert.Equal(c.GetProperty("step").GetString(), imported.State.ToString());
        Assert.Equal(expected, imported.ExportState());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheVector_DecodesAsTheDocumentSays_AndItsMacIsHkdfHmacOfTheIdentitySeed(string name)
    {
        var c = Case(name);
        var state = Hex(c, "state");
        var seed = Hex(c, "identitySeed");
        var party = c.GetProperty("party").GetInt32();
        var session = Vectors.GetProperty("parameters").GetProperty("sessionId").GetString()!;
        var at = 0;
        byte[] Take(int count)
        {
            var taken = state.AsSpan(at, count).ToArray();
            at += count;
            return taken;
        }


        Assert.Equal("smpc/secagg/party-state"u8.ToArray(), Take(23));
        Assert.Equal([2], Take(1));
        Assert.Equal(Encoding.UTF8.GetByteCount(session), BinaryPrimitives.ReadUInt16BigEndian(Take(2)));
        Assert.Equal(session, Encoding.UTF8.GetString(Take(Encoding.UTF8.GetByteCount(session))));
        var digest = Take(32);
        Assert.Equal(Hex(c, "parameterDigest"), digest);
        Assert.Equal(party, BinaryPrimitives.ReadInt32BigEndian(Take(4)));
        using (var identity = Ed25519KeyPair.FromPrivateKey(seed)) Assert.Equal(identity.PublicKey, Take(32));
        var step = Take(1)[0];
        var sections = BinaryPrimitives.ReadUInt32BigEndian(Take(4));
        if (c.GetProperty("step").GetString() == "Created")
        {
            Assert.Equal((0, 0u), (step, sections));
        }
        else
        {
            Assert.Equal((1, 0x007u), (step, sections));
            var bundle = Take(BinaryPrimitives.ReadInt32BigEndian(Take(4)));
            Assert.Equal(Hex(c, "keyBundle"), bundle);
            var seal = Take(32);
            var mask = Take(32);
            // The stored private keys are the drawn bytes, clamped (RFC 7748), and the bundle carries their public keys.
            var randomness = Hex(c, "randomness");
            Assert.Equal(Clamp(randomness[..32]), seal);
            Assert.Equal(Clamp(randomness[32..64]), mask);
            using var sealKey = X25519KeyPair.FromPrivateKey(seal);
            Assert.Equal(sealKey.PublicKey, bundle.AsSpan(2 + 2 + session.Length + 4, 32).ToArray());
        }

        var body = state[..at];
        Assert.Equal(state.Length - 32, at);
        var info = digest.Concat(new byte[] { 0, 0, 0, (byte)party }).ToArray();
        var macKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, 32, "smpc/secagg/party-state/mac/v1"u8.ToArray(), info);
        Assert.Equal(Hex(c, "macKey"), macKey);
        Assert.Equal(HMACSHA256.HashData(macKey, body), state[at..]);
    }

    [Fact]
    public void AVectorWithOneBitFlipped_IsRefusedAsMalformed()
    {
        var c = Case("keys-published");
        using var identity = Ed25519KeyPair.FromPrivateKey(Hex(c, "identitySeed"));
        var state = Hex(c, "state");
        state[^40] ^= 1; // inside s_i: only the MAC notices

        var refused = Assert.Throws<MessageRejectedException>(() => SecureAggregationParty.ImportState(
            Parameters(), 2, identity, new FixedRandom([]), new Dictionary<int, string> { [2] = identity.Fingerprint }, state));
        Assert.Equal(ProtocolError.Malformed, refused.Error);
    }

    private static JsonElement Case(string name) => Vectors.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static byte[] Hex(JsonElement c, string property) => Convert.FromHexString(c.GetProperty(property).GetString()!);

    private static byte[] Clamp(byte[] key)
    {
        var k = (byte[])key.Clone();
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        return k;
    }

    private static SessionParameters Parameters()
    {
        var p = Vectors.GetProperty("parameters");
        var fields = p.GetProperty("fields").EnumerateArray().Select(f => new FieldSpec(
            f.GetProperty("name").GetString()!, f.GetProperty("length").GetInt32(), f.GetProperty("precision").GetInt64(),
            f.GetProperty("min").GetDouble(), f.GetProperty("max").GetDouble()));
        return SessionParameters.Create(
            p.GetProperty("sessionId").GetString()!, p.GetProperty("n").GetInt32(), new VectorLayout(fields),
            Convert.FromHexString(p.GetProperty("modellerPublicKey").GetString()!), p.GetProperty("t").GetInt32(),
            PrimeField.Create(p.GetProperty("q").GetUInt64()), p.GetProperty("round").GetUInt32(), p.GetProperty("chunkElements").GetInt32());
    }

    /// <summary>Hands out exactly the vector's bytes, in order; asking for more is a test failure.</summary>
    private sealed class FixedRandom(byte[] bytes) : IRandomSource
    {
        private int _next;

        public void Fill(Span<byte> destination)
        {
            Assert.True(_next + destination.Length <= bytes.Length, "the party drew more randomness than the vector holds");
            bytes.AsSpan(_next, destination.Length).CopyTo(destination);
            _next += destination.Length;
        }
    }
}
