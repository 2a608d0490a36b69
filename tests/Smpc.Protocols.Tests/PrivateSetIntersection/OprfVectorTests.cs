using System.Text.Json;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// The published test vectors of RFC 9380 (Appendix K.3, expand_message_xmd with SHA-512) and RFC 9497 (Appendix A.1.1,
/// ristretto255-SHA512 in OPRF mode), from docs/protocols/vectors/ecdh-oprf.json, against our code and libsodium.
/// </summary>
public sealed class OprfVectorTests
{
    private static readonly Vectors File = Load();

    [Fact]
    public void ExpandMessageXmd_Sha512_MatchesRfc9380AppendixK3()
    {
        Assert.Equal(10, File.Xmd.Cases.Count);
        foreach (var c in File.Xmd.Cases)
        {
            var output = new byte[c.LenInBytes];
            ExpandMessageXmd.Expand(System.Text.Encoding.ASCII.GetBytes(c.Msg), System.Text.Encoding.ASCII.GetBytes(File.Xmd.Dst), output);
            Assert.Equal(c.UniformBytes, Hex.Of(output));
        }
    }

    [Fact]
    public void ExpandMessageXmd_RefusesOutOfRangeParameters()
    {
        Assert.Equal(ProtocolError.InvalidParameters, Assert.Throws<ProtocolException>(() => ExpandMessageXmd.Expand([], "D"u8, new byte[255 * 64 + 1])).Error);
        Assert.Equal(ProtocolError.InvalidParameters, Assert.Throws<ProtocolException>(() => ExpandMessageXmd.Expand([], [], new byte[32])).Error);
        Assert.Equal(ProtocolError.InvalidParameters, Assert.Throws<ProtocolException>(() => ExpandMessageXmd.Expand([], new byte[256], new byte[32])).Error);
    }

    [Fact]
    public void Dsts_AreTheRfc9497Ones()
    {
        Assert.Equal("OPRFV1-\0-ristretto255-SHA512", System.Text.Encoding.ASCII.GetString(RistrettoOprf.ContextString));
        Assert.Equal(File.Oprf.Dsts["hashToGroup"], Hex.Of([.. "HashToGroup-"u8, .. RistrettoOprf.ContextString]));
        Assert.Equal(File.Oprf.Dsts["deriveKeyPair"], Hex.Of([.. "DeriveKeyPair"u8, .. RistrettoOprf.ContextString]));
    }

    [Fact]
    public void DeriveKeyPair_FromTheRfcSeedAndInfo_GivesSkSm()
    {
        var sk = RistrettoOprf.DeriveKeyPair(Hex.Bytes(File.Oprf.Seed), Hex.Bytes(File.Oprf.KeyInfo));
        Assert.Equal(File.Oprf.SkSm, Hex.Of(sk));
        Assert.True(Ristretto255.IsValid(Ristretto255.MultiplyBase(sk)));
    }

    [Fact]
    public void BlindBlindEvaluateFinalizeAndEvaluate_MatchRfc9497AppendixA11()
    {
        var sk = Hex.Bytes(File.Oprf.SkSm);
        Assert.Equal(2, File.Oprf.Vectors.Count);
        foreach (var v in File.Oprf.Vectors)
        {
            var input = Hex.Bytes(v.Input);
            var blind = Hex.Bytes(v.Blind);
            var blinded = new byte[32];
            RistrettoOprf.Blind(input, blind, blinded);
            Assert.Equal(v.BlindedElement, Hex.Of(blinded));

            var evaluated = new byte[32];
            Assert.True(RistrettoOprf.TryBlindEvaluate(sk, blinded, evaluated));
            Assert.Equal(v.EvaluationElement, Hex.Of(evaluated));

            Assert.Equal(v.Output, Hex.Of(RistrettoOprf.Finalize(input, blind, evaluated)));
            var direct = new byte[64];
            RistrettoOprf.Evaluate(sk, input, direct);
            Assert.Equal(v.Output, Hex.Of(direct));
        }
    }

    [Fact]
    public void PsiServerAndClient_ProduceTheRfcOutputCutTo32Bytes()
    {
        // The pod's published tag for a record is Evaluate(k, record)[..32]; the modeller's is Finalize(...)[..32].
        var sk = Hex.Bytes(File.Oprf.SkSm);
        var v = File.Oprf.Vectors[1];
        using var pod = new EcdhPsiServer(PsiMode.Intersection, new DeterministicTestRandom(1), sk);
        Assert.Equal(v.Output[..64], Hex.Of(pod.EncodeServerBatch([Hex.Bytes(v.Input)])));
    }

    private static Vectors Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "PrivateSetIntersection", "ecdh-oprf.json");
        return JsonSerializer.Deserialize<Vectors>(System.IO.File.ReadAllText(path), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    private sealed record Vectors(Xmd Xmd, Oprf Oprf);

    private sealed record Xmd(string Source, string Dst, List<XmdCase> Cases);

    private sealed record XmdCase(string Msg, int LenInBytes, string UniformBytes);

    private sealed record Oprf(string Source, string Seed, string KeyInfo, string SkSm, Dictionary<string, string> Dsts, List<OprfCase> Vectors);

    private sealed record OprfCase(string Input, string Blind, string BlindedElement, string EvaluationElement, string Output);
}
