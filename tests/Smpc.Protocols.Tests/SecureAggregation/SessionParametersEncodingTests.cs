using System.Buffers.Binary;
using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>The canonical parameter encoding that key bundle signatures cover, checked against the documented bytes.</summary>
public sealed class SessionParametersEncodingTests
{
    private static readonly byte[] Modeller = [.. Enumerable.Range(0x40, 32).Select(i => (byte)i)];

    // Precision 10 keeps n · bound · precision within q = 1009's signed range.
    private static readonly VectorLayout Layout = new([new FieldSpec("w", 3, 10, -0.0, 2.5), FieldSpec.Integer("n", 1, -7, 7)]);

    [Fact]
    public void CanonicalBytes_AreTheDocumentedEncoding()
    {
        var p = SessionParameters.Create("s1", 4, Layout, Modeller, threshold: 3, field: PrimeField.Create(1009), round: 9, chunkElements: 100);

        byte[] expected =
        [
            .. "smpc/secagg/params/v1"u8,
            0x00, 0x02, .. "s1"u8,                       // str(session)
            .. Be32(9), .. Be32(4), .. Be32(3),           // round, n, t
            .. Be64(1009),                                // q
            .. Be32(100),                                 // chunk size C
            .. Be32(2),                                   // field count
            0x00, 0x01, .. "w"u8, .. Be32(3), .. Be64(10),
            .. Be64(0x0000000000000000), .. Be64(0x4004000000000000), // bits(+0.0) (−0.0 written as +0), bits(2.5)
            0x00, 0x01, .. "n"u8, .. Be32(1), .. Be64(1),
            .. Be64(0xC01C000000000000), .. Be64(0x401C000000000000), // bits(−7.0), bits(7.0)
            .. Modeller,
        ];

        Assert.Equal(Hex.Of(expected), Hex.Of(p.ToCanonicalBytes()));
        Assert.Equal(SHA256.HashData(expected), p.Digest());
    }

    [Fact]
    public void EveryParameter_ChangesTheDigest()
    {
        SessionParameters Make(string id = "s1", int n = 4, VectorLayout? layout = null, byte[]? modeller = null, int t = 3, ulong q = 1009, uint round = 9, int chunk = 100) =>
            SessionParameters.Create(id, n, layout ?? Layout, modeller ?? Modeller, t, PrimeField.Create(q), round, chunk);

        var other = (byte[])Modeller.Clone();
        other[^1] ^= 1;
        var variants = new[]
        {
            Make(),
            Make(id: "s2"),
            Make(n: 5),
            Make(t: 4),
            Make(q: 1013),
            Make(round: 10),
            Make(chunk: 101),
            Make(modeller: other),
            Make(layout: new VectorLayout([new FieldSpec("v", 3, 10, 0, 2.5), FieldSpec.Integer("n", 1, -7, 7)])),
            Make(layout: new VectorLayout([new FieldSpec("w", 4, 10, 0, 2.5), FieldSpec.Integer("n", 1, -7, 7)])),
            Make(layout: new VectorLayout([new FieldSpec("w", 3, 20, 0, 2.5), FieldSpec.Integer("n", 1, -7, 7)])),
            Make(layout: new VectorLayout([new FieldSpec("w", 3, 10, -0.5, 2.5), FieldSpec.Integer("n", 1, -7, 7)])),
            Make(layout: new VectorLayout([new FieldSpec("w", 3, 10, 0, 2.25), FieldSpec.Integer("n", 1, -7, 7)])),
            Make(layout: new VectorLayout([FieldSpec.Integer("n", 1, -7, 7), new FieldSpec("w", 3, 10, 0, 2.5)])),
        };

        Assert.Equal(variants.Length, variants.Select(v => Hex.Of(v.Digest())).Distinct().Count());

        // Equal parameters built separately agree (and −0 equals +0 as a bound).
        Assert.Equal(Make().Digest(), Make(layout: new VectorLayout([new FieldSpec("w", 3, 10, 0, 2.5), FieldSpec.Integer("n", 1, -7, 7)])).Digest());
    }

    [Fact]
    public void BundleSignature_CoversTheParameterDigest_AsDocumented()
    {
        var p = SessionParameters.Create("s1", 4, Layout, Modeller, threshold: 3, round: 9);
        var seal = Enumerable.Repeat((byte)0xC5, 32).ToArray();
        var mask = Enumerable.Repeat((byte)0x5A, 32).ToArray();
        byte[] expected = [.. "smpc/secagg/keybundle/v3"u8, 0x00, 0x02, .. "s1"u8, .. Be32(9), .. Be32(2), .. seal, .. mask, .. p.Digest()];
        Assert.Equal(expected, KeyBundle.SignedBytes(p, 2, seal, mask));

        using var identity = Ed25519KeyPair.Generate(new DeterministicTestRandom(61));
        var bundle = new KeyBundle("s1", 2, seal, mask, identity.PublicKey, identity.Sign(expected));
        Assert.True(bundle.VerifySignature(p));
        Assert.False(bundle.VerifySignature(SessionParameters.Create("s1", 4, Layout, Modeller, threshold: 4, round: 9)));
        Assert.False(bundle.VerifySignature(SessionParameters.Create("s1", 4, Layout, Modeller, threshold: 3, round: 10)));
        Assert.False((bundle with { SessionId = "s2" }).VerifySignature(SessionParameters.Create("s2", 4, Layout, Modeller, threshold: 3, round: 9)));
    }

    private static byte[] Be32(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    private static byte[] Be64(ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        return b;
    }
}
