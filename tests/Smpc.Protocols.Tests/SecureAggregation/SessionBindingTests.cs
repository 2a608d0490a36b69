using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>Key bundles are bound to pinned identities, to the exact session parameters and to the round.</summary>
public sealed class SessionBindingTests
{
    private static readonly VectorLayout Layout = VectorLayout.Single(FieldSpec.Integer("c", 4, -100, 100));

    [Fact]
    public void SubstitutedBundle_ForAPartyMissingFromThePins_IsRefusedByTheParty()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 21);
        var pinsWithoutThree = s.Pins.Where(kv => kv.Key != 3).ToDictionary();
        using var victim = new SecureAggregationParty(s.Parameters, 1, s.Identities[0], s.Random, pinsWithoutThree);
        var bundles = new[] { victim.CreateKeyBundle(), s[2].CreateKeyBundle(), ServiceForgedBundle(s, party: 3) };

        var ex = Assert.Throws<CryptographicCheckException>(() => victim.CreateShareEnvelopes(bundles));
        Assert.Equal(ProtocolError.IdentityMismatch, ex.Error);
        Assert.Equal(SecureAggregationParty.Step.KeysPublished, victim.State);
    }

    [Fact]
    public void SubstitutedBundle_ForAPartyMissingFromThePins_IsRefusedByTheUnmasker()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 22);
        var pinsWithoutThree = s.Pins.Where(kv => kv.Key != 3).ToDictionary();
        var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, pinsWithoutThree);
        var bundles = new[] { s[1].CreateKeyBundle(), s[2].CreateKeyBundle(), ServiceForgedBundle(s, party: 3) };

        var ex = Assert.Throws<CryptographicCheckException>(() => unmasker.AcceptKeyBundles(bundles));
        Assert.Equal(ProtocolError.IdentityMismatch, ex.Error);
    }

    [Fact]
    public void EmptyPinMap_RefusesEveryBundle_EvenGenuineOnes()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 23);
        using var party = new SecureAggregationParty(s.Parameters, 1, s.Identities[0], s.Random, new Dictionary<int, string>());
        var bundles = new[] { party.CreateKeyBundle(), s[2].CreateKeyBundle(), s[3].CreateKeyBundle() };
        Assert.Equal(ProtocolError.IdentityMismatch, Assert.Throws<CryptographicCheckException>(() => party.CreateShareEnvelopes(bundles)).Error);
    }

    [Fact]
    public void MissingPins_AreRefusedAtConstruction()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 24);
        Assert.Throws<ArgumentNullException>(() => new SecureAggregationParty(s.Parameters, 1, s.Identities[0], s.Random, null!));
        Assert.Throws<ArgumentNullException>(() => new SecureAggregationUnmasker(s.Parameters, s.Modeller, null!));
    }

    [Fact]
    public void FullyPinnedSession_StillRoundTrips()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 25);
        var result = s.Run(new Dictionary<int, double[]> { [1] = [1, 2, 3, 4], [2] = [5, 6, 7, 8], [3] = [-1, -1, -1, -1] }, new Dictionary<int, int>());
        Assert.Equal(new long[] { 5, 7, 9, 11 }, result.SumInteger("c"));
    }

    [Theory]
    [InlineData("threshold")]
    [InlineData("modeller key")]
    [InlineData("layout bound")]
    [InlineData("chunk size")]
    public void Bundle_MadeUnderDifferentParameters_IsRefusedByTheOthers(string difference)
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 26);
        using var fakeModeller = X25519KeyPair.Generate(s.Random);
        var p = s.Parameters;
        var other = difference switch
        {
            "threshold" => SessionParameters.Create(p.SessionId, 4, Layout, s.Modeller.PublicKey, threshold: 4, round: p.Round, chunkElements: p.ChunkElements),
            "modeller key" => SessionParameters.Create(p.SessionId, 4, Layout, fakeModeller.PublicKey, threshold: 3, round: p.Round, chunkElements: p.ChunkElements),
            "layout bound" => SessionParameters.Create(p.SessionId, 4, VectorLayout.Single(FieldSpec.Integer("c", 4, -100, 101)), s.Modeller.PublicKey, threshold: 3, round: p.Round, chunkElements: p.ChunkElements),
            _ => SessionParameters.Create(p.SessionId, 4, Layout, s.Modeller.PublicKey, threshold: 3, round: p.Round, chunkElements: p.ChunkElements + 1),
        };

        // The service hands pod 1 different parameters (e.g. its own "modeller" key); pod 1 signs in good faith.
        using var misled = new SecureAggregationParty(other, 1, s.Identities[0], s.Random, s.Pins);
        var bundles = new[] { misled.CreateKeyBundle(), s[2].CreateKeyBundle(), s[3].CreateKeyBundle(), s[4].CreateKeyBundle() };

        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(() => s[2].CreateShareEnvelopes(bundles)).Error);
        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(() => misled.CreateShareEnvelopes(bundles)).Error);
        var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(() => unmasker.AcceptKeyBundles(bundles)).Error);
    }

    [Fact]
    public void RoundR_Bundle_ReplayedInRoundRPlusOne_IsRefused()
    {
        // Same seed: both rounds draw identical keys, so only the round number tells the bundles apart.
        using var r3 = new SessionHarness(3, null, Layout, seed: 27, round: 3);
        using var r4 = new SessionHarness(3, null, Layout, seed: 27, round: 4);
        var old = r3.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var fresh = r4.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        Assert.Equal(old[1].SealKey, fresh[1].SealKey);
        Assert.Equal(old[1].MaskKey, fresh[1].MaskKey);

        var ex = Assert.Throws<CryptographicCheckException>(() => r4[1].CreateShareEnvelopes([fresh[0], old[1], fresh[2]]));
        Assert.Equal(ProtocolError.BadSignature, ex.Error);
        var unmasker = new SecureAggregationUnmasker(r4.Parameters, r4.Modeller, r4.Pins);
        Assert.Equal(ProtocolError.BadSignature, Assert.Throws<CryptographicCheckException>(() => unmasker.AcceptKeyBundles([fresh[0], old[1], fresh[2]])).Error);
    }

    [Fact]
    public void RoundR_Envelope_ReplayedInRoundRPlusOne_FailsToOpen()
    {
        using var r3 = new SessionHarness(3, null, Layout, seed: 28, round: 3);
        using var r4 = new SessionHarness(3, null, Layout, seed: 28, round: 4);
        var oldBundles = r3.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var freshBundles = r4.Parties.Select(p => p.CreateKeyBundle()).ToArray();
        var oldEnvelopes = r3.Parties.SelectMany(p => p.CreateShareEnvelopes(oldBundles)).ToList();
        var freshEnvelopes = r4.Parties.SelectMany(p => p.CreateShareEnvelopes(freshBundles)).ToList();

        // Identical keys and randomness in both rounds (same nonce): the envelopes differ only through the round, bound
        // into the pairwise key and the AD.
        var replayed = oldEnvelopes.Single(e => e.From == 2 && e.To == 1);
        var genuine = freshEnvelopes.Single(e => e.From == 2 && e.To == 1);
        Assert.Equal(replayed.Ciphertext.Length, genuine.Ciphertext.Length);
        Assert.Equal(replayed.Ciphertext[..12], genuine.Ciphertext[..12]);
        Assert.NotEqual(replayed.Ciphertext[12..], genuine.Ciphertext[12..]);

        var ex = Assert.Throws<CryptographicCheckException>(() => r4[1].CreateMaskedInput([replayed, freshEnvelopes.Single(e => e.From == 3 && e.To == 1)], [1, 2, 3, 4]));
        Assert.Equal(ProtocolError.SenderNotAuthenticated, ex.Error);
        Assert.Equal(SecureAggregationParty.Step.SharesSent, r4[1].State);
    }

    /// <summary>What a malicious service would do: sign a bundle for <paramref name="party"/> with its own identity and keys.</summary>
    private static KeyBundle ServiceForgedBundle(SessionHarness s, int party)
    {
        using var impostor = Ed25519KeyPair.Generate(s.Random);
        var fullPins = s.Identities.Select((id, i) => (i + 1, id.Fingerprint)).ToDictionary(x => x.Item1, x => x.Fingerprint);
        fullPins[party] = impostor.Fingerprint;
        using var fake = new SecureAggregationParty(s.Parameters, party, impostor, s.Random, fullPins);
        return fake.CreateKeyBundle();
    }
}
