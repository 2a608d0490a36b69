using System.Buffers.Binary;
using System.Security.Cryptography;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>
/// Known answers for the mask PRG and the pairwise seed, each also recomputed here from the documented
/// specification with .NET's own AES-ECB and HKDF, so a change of endianness, salt or layout fails.
/// </summary>
public sealed class KnownAnswerTests
{
    private static readonly byte[] Seed = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    // RFC 7748 §6.1: Alice and Bob's X25519 keys and their shared secret.
    private static readonly byte[] AlicePrivate = Hex.Bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    private static readonly byte[] AlicePublic = Hex.Bytes("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    private static readonly byte[] BobPrivate = Hex.Bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    private static readonly byte[] BobPublic = Hex.Bytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    private static readonly byte[] Shared = Hex.Bytes("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

    [Fact]
    public void MaskContexts_HaveTheDocumentedBytes()
    {
        // 0x01 ‖ BE16 3 ‖ "kat" ‖ BE32 round 7 ‖ BE32 party 3 ‖ BE32 0
        Assert.Equal("01" + "0003" + "6b6174" + "00000007" + "00000003" + "00000000", Hex.Of(MaskContext.ForSelfMask("kat", 7, 3)));

        // 0x02 ‖ BE16 3 ‖ "kat" ‖ BE32 round 7 ‖ BE32 min 2 ‖ BE32 max 5, whichever order the pair is named in
        Assert.Equal("02" + "0003" + "6b6174" + "00000007" + "00000002" + "00000005", Hex.Of(MaskContext.ForPairMask("kat", 7, 5, 2)));
        Assert.Equal(MaskContext.ForPairMask("kat", 7, 5, 2), MaskContext.ForPairMask("kat", 7, 2, 5));
    }

    [Fact]
    public void MaskPrg_DefaultField_KnownAnswer_AndIndependentRecomputation()
    {
        var context = MaskContext.ForSelfMask("kat", 7, 3);
        var field = PrimeField.Default;
        using var prg = new MaskPrg(field, Seed, context);
        var elements = new ulong[64];
        prg.Generate(0, elements);

        Assert.Equal([1515078018009628002UL, 1081310165869788404UL, 887842438050886751UL, 185715181606655316UL], elements[..4]);
        Assert.Equal(Reference(field.Modulus, (1UL << 61) - 1, Seed, context, 0, 64, out _), elements);

        // Seeking: an odd offset far into the stream (block 500 000, second half).
        var far = new ulong[5];
        prg.Generate(1_000_001, far);
        Assert.Equal(Reference(field.Modulus, (1UL << 61) - 1, Seed, context, 1_000_001, 5, out _), far);
    }

    [Fact]
    public void MaskPrg_SmallField_KnownAnswer_IncludingTheRetryStream()
    {
        // q = 1009, m = 1023: about 1.4 % of words are ≥ q and come from the K' retry stream.
        var context = MaskContext.ForSelfMask("kat", 7, 3);
        var field = PrimeField.Create(1009);
        using var prg = new MaskPrg(field, Seed, context);
        var elements = new ulong[1024];
        prg.Generate(0, elements);

        Assert.Equal([354UL, 244UL, 95UL, 340UL, 334UL, 174UL, 951UL, 911UL], elements[..8]);
        var expected = Reference(1009, 1023, Seed, context, 0, elements.Length, out var retried);
        Assert.True(retried > 0, "the known answer must exercise the retry stream");
        Assert.Equal(expected, elements);
    }

    [Fact]
    public void PairSeed_KnownAnswer_AndIndependentRecomputation()
    {
        var p = SessionParameters.Create("kat-session", 5, VectorLayout.Single(FieldSpec.Integer("c", 1, 0, 1)), new byte[32], round: 7);
        using var alice = X25519KeyPair.FromPrivateKey(AlicePrivate);
        using var bob = X25519KeyPair.FromPrivateKey(BobPrivate);
        Assert.Equal(AlicePublic, alice.PublicKey);
        Assert.Equal(BobPublic, bob.PublicKey);

        // Alice is party 2, Bob party 5; each derives from its own secret and the other's bundle.
        var fromAlice = SessionRules.PairSeed(p, alice, 2, Bundle(5, BobPublic));
        var fromBob = SessionRules.PairSeed(p, bob, 5, Bundle(2, AlicePublic));
        Assert.Equal("c4ade205d049ef49d0dcac266c4f3a458717fa6cb793731c48043eff9d0c8cca", Hex.Of(fromAlice));
        Assert.Equal(fromAlice, fromBob);

        // HKDF-SHA-256(Z, salt "smpc/secagg/pair/v1", info str(session) ‖ BE32 round ‖ BE32 lo ‖ BE32 hi ‖ S_lo ‖ S_hi).
        byte[] info = [.. Hex.Bytes("000b"), .. "kat-session"u8, .. Hex.Bytes("00000007" + "00000002" + "00000005"), .. AlicePublic, .. BobPublic];
        var expected = HKDF.DeriveKey(HashAlgorithmName.SHA256, Shared, 32, "smpc/secagg/pair/v1"u8.ToArray(), info);
        Assert.Equal(expected, fromAlice);
    }

    /// <summary>The mask PRG exactly as docs/protocols/secure-aggregation.md states it, element by element.</summary>
    private static ulong[] Reference(ulong q, ulong m, byte[] seed, byte[] context, long offset, int count, out int retried)
    {
        var okm = HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, 48, "smpc/secagg/prg/v1"u8.ToArray(), context);
        using var main = Aes.Create();
        main.Key = okm[..16];
        using var retry = Aes.Create();
        retry.Key = okm[32..48];
        var iv = BinaryPrimitives.ReadUInt128BigEndian(okm.AsSpan(16, 16));
        var result = new ulong[count];
        retried = 0;
        var counterBlock = new byte[16];
        var retryBlock = new byte[16];
        for (var k = 0; k < count; k++)
        {
            var i = offset + k;
            BinaryPrimitives.WriteUInt128BigEndian(counterBlock, iv + (UInt128)(ulong)(i / 2));
            var keystream = main.EncryptEcb(counterBlock, PaddingMode.None);
            var w = BinaryPrimitives.ReadUInt64LittleEndian(keystream.AsSpan((int)(i % 2) * 8, 8)) & m;
            if (w < q)
            {
                result[k] = w;
                continue;
            }

            retried++;
            for (ulong a = 0; ; a++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(retryBlock, (ulong)i);
                BinaryPrimitives.WriteUInt64LittleEndian(retryBlock.AsSpan(8), a);
                var r = BinaryPrimitives.ReadUInt64LittleEndian(retry.EncryptEcb(retryBlock, PaddingMode.None)) & m;
                if (r < q)
                {
                    result[k] = r;
                    break;
                }
            }
        }

        return result;
    }

    private static KeyBundle Bundle(int party, byte[] maskKey) => new("kat-session", party, new byte[32], maskKey, new byte[32], new byte[64]);
}
