using System.Buffers.Binary;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecretSharing;
using Smpc.Protocols.SecureAggregation;
using Step = Smpc.Protocols.SecureAggregation.SecureAggregationParty.Step;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>ExportState / ImportState: a pod agent killed mid-session and restarted completes the session.</summary>
public sealed class PartyStateTests
{
    private static readonly VectorLayout Layout = new([FieldSpec.Integer("c", 5, -1000, 1000), FieldSpec.Real("r", 2, -1, 1)]);

    /// <summary>Points where a party may be exported and re-imported ("restarted").</summary>
    private enum Stage
    {
        Created,
        AfterKeys,
        AfterShares,
        AfterMaskedInput,
        AfterConfirm,
        AfterResponse,
    }

    [Fact]
    public void EveryParty_RestartedAfterEachStep_WithRetries_GivesThePlainSum()
    {
        using var s = new SessionHarness(5, 3, Layout, seed: 501);
        var inputs = Inputs(s, new DeterministicTestRandom(1));
        var result = Run(s, inputs, new Dictionary<int, int>(), (_, _) => true, confirm: _ => true, retry: (_, _) => true);
        AssertPlainSum(inputs, [1, 2, 3, 4, 5], result);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EveryParty_RestartedAfterEachStep_WithADropoutAtEachRound_GivesThePlainSumOfSurvivors(int dropRound)
    {
        using var s = new SessionHarness(5, 3, Layout, seed: 510 + dropRound);
        var inputs = Inputs(s, new DeterministicTestRandom(dropRound));
        var drops = new Dictionary<int, int> { [2] = dropRound, [5] = dropRound };
        var result = Run(s, inputs, drops, (_, _) => true, confirm: i => i % 2 == 0, retry: (_, _) => true);
        int[] included = dropRound == 4 ? [1, 2, 3, 4, 5] : [1, 3, 4];
        AssertPlainSum(inputs, included, result);
    }

    [Fact]
    public void Property_RandomSessions_RestartsAtRandomSteps_RandomRetries_AndDropouts_GiveThePlainSum()
    {
        var random = new DeterministicTestRandom(7777);
        for (var trial = 0; trial < 12; trial++)
        {
            var n = random.NextInt(3, 9);
            var t = random.NextInt((n / 2) + 1, n + 1);
            using var s = new SessionHarness(n, t, Layout, seed: 20_000 + trial, chunkElements: random.NextInt(1, 8));
            var drops = new Dictionary<int, int>();
            foreach (var party in Enumerable.Range(1, n).OrderBy(_ => random.NextInt(0, 1 << 30)).Take(random.NextInt(0, n - t + 1)))
            {
                drops[party] = random.NextInt(1, 5);
            }

            var inputs = Inputs(s, random);
            var result = Run(
                s,
                inputs,
                drops,
                (_, _) => random.NextInt(0, 2) == 0,
                confirm: _ => random.NextInt(0, 2) == 0,
                retry: (_, _) => random.NextInt(0, 2) == 0);
            var included = Enumerable.Range(1, n).Where(i => !drops.TryGetValue(i, out var r) || r == 4).ToArray();
            AssertPlainSum(inputs, included, result);
        }
    }

    [Fact]
    public void RetriedSteps_AfterImport_GiveByteIdenticalMessages_AndAccessorsReturnWhatWasSent()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 520);
        var inputs = Inputs(s, new DeterministicTestRandom(2));
        Assert.Null(s[1].PublishedBundle);
        Assert.Null(s[1].SentEnvelopes);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToList();

        Restart(s, 1);
        Assert.Equal(bundles[0].ToBytes(), s[1].CreateKeyBundle().ToBytes());
        Assert.Equal(bundles[0].ToBytes(), s[1].PublishedBundle!.ToBytes());

        var envelopes = s.Parties.Select(p => p.CreateShareEnvelopes(bundles)).ToList();
        Restart(s, 1);
        Assert.Equal(Bytes(envelopes[0]), Bytes(s[1].CreateShareEnvelopes(bundles)));
        Assert.Equal(Bytes(envelopes[0]), Bytes(s[1].SentEnvelopes!));
        Assert.Equal(bundles[0].ToBytes(), s[1].CreateKeyBundle().ToBytes());

        var toOne = envelopes.SelectMany(e => e).Where(e => e.To == 1).ToList();
        var masked = s[1].CreateMaskedInput(toOne, inputs[1]);
        Assert.False(s[1].MaskedInputConfirmed);
        Assert.Equal(masked, s[1].CreateMaskedInput(toOne, inputs[1])); // in-process retry
        Restart(s, 1);
        Assert.Equal(Step.MaskedInputSent, s[1].State);
        Assert.Equal(masked, s[1].CreateMaskedInput([.. toOne.AsEnumerable().Reverse()], inputs[1]));
        Assert.Equal(Bytes(envelopes[0]), Bytes(s[1].SentEnvelopes!));
        s[1].ConfirmMaskedInputAccepted();
        s[1].ConfirmMaskedInputAccepted(); // idempotent
        Assert.True(s[1].MaskedInputConfirmed);
        Restart(s, 1);
        Assert.True(s[1].MaskedInputConfirmed);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(() => s[1].CreateMaskedInput(toOne, inputs[1])).Error);

        foreach (var i in new[] { 2, 3 })
        {
            s[i].CreateMaskedInput([.. envelopes.SelectMany(e => e).Where(e => e.To == i)], inputs[i]);
        }

        var request = new UnmaskRequest(s.Parameters.SessionId, [3, 2, 1], [1, 2, 3]);
        var response = s[1].CreateUnmaskResponse(request).ToBytes();
        Restart(s, 1);
        Assert.Equal(Step.Responded, s[1].State);
        Assert.Equal(response, s[1].CreateUnmaskResponse(UnmaskRequest.Parse(request.ToBytes())).ToBytes());
        var other = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3], [1, 3]);
        Assert.Equal(ProtocolError.Contradictory, Assert.Throws<MessageRejectedException>(() => s[1].CreateUnmaskResponse(other)).Error);
    }

    [Fact]
    public void RecomputingTheMaskedInput_WithAnotherInputOrOtherSenders_IsContradictory()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 530);
        var inputs = Inputs(s, new DeterministicTestRandom(3));
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToList();
        var toOne = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).Where(e => e.To == 1).ToList();
        var masked = s[1].CreateMaskedInput(toOne, inputs[1]);
        Restart(s, 1);

        var changed = (double[])inputs[1].Clone();
        changed[0] += 1;
        Assert.Equal(ProtocolError.Contradictory, Assert.Throws<MessageRejectedException>(() => s[1].CreateMaskedInput(toOne, changed)).Error);
        Assert.Equal(ProtocolError.Contradictory, Assert.Throws<MessageRejectedException>(() => s[1].CreateMaskedInput(toOne[1..], inputs[1])).Error);
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => s[1].CreateMaskedInput([.. toOne, toOne[0]], inputs[1])).Error);
        Assert.Equal(masked, s[1].CreateMaskedInput(toOne, inputs[1]));
    }

    [Fact]
    public void ConfirmBeforeTheMaskedInput_IsOutOfOrder_AndADisposedPartyCannotBeExported()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 540);
        s[1].CreateKeyBundle();
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(s[1].ConfirmMaskedInputAccepted).Error);
        s[1].Dispose();
        Assert.Throws<ObjectDisposedException>(() => s[1].ExportState());
    }

    [Fact]
    public void ACreatedState_ImportsAndStartsAfresh()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 545);
        var blob = s[1].ExportState();
        using var p = Import(s, 1, blob);
        Assert.Equal(Step.Created, p.State);
        Assert.Null(p.PublishedBundle);
        Assert.True(p.CreateKeyBundle().VerifySignature(s.Parameters));
        Assert.Equal(Step.KeysPublished, p.State);
    }

    [Fact]
    public void TruncatedOrCorruptedStates_AreRefused()
    {
        using var s = new SessionHarness(3, null, Layout, seed: 550);
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToList();
        _ = s.Parties.Select(p => p.CreateShareEnvelopes(bundles)).ToList();
        var blob = s[1].ExportState();

        for (var length = 0; length < blob.Length; length++)
        {
            var ex = Assert.ThrowsAny<ProtocolException>(() => Import(s, 1, blob.AsSpan(0, length)));
            Assert.Equal(ProtocolError.Malformed, ex.Error);
        }

        Assert.Equal(ProtocolError.Malformed, Assert.ThrowsAny<ProtocolException>(() => Import(s, 1, [.. blob, 0])).Error);
        for (var position = 0; position < blob.Length; position++)
        {
            var corrupt = (byte[])blob.Clone();
            corrupt[position] ^= (byte)(1 << (position % 8));
            Assert.ThrowsAny<ProtocolException>(() => Import(s, 1, corrupt));
        }

        // A flip in the body (past the bound header) or in the MAC is an integrity failure.
        var body = (byte[])blob.Clone();
        body[^40] ^= 1;
        Assert.Equal(ProtocolError.Malformed, Assert.ThrowsAny<ProtocolException>(() => Import(s, 1, body)).Error);
        using var intact = Import(s, 1, blob);
        Assert.Equal(Step.SharesSent, intact.State);
    }

    [Fact]
    public void StatesOfAnotherSessionPartyParametersOrIdentity_AreRefused()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 560);
        foreach (var p in s.Parties)
        {
            p.CreateKeyBundle();
        }

        var blob = s[1].ExportState();

        // Another party (with its own identity, or even with party 1's identity).
        Assert.Equal(ProtocolError.UnknownParty, Assert.ThrowsAny<ProtocolException>(() => Import(s, 2, blob)).Error);
        Assert.Equal(ProtocolError.UnknownParty, Assert.ThrowsAny<ProtocolException>(() =>
            SecureAggregationParty.ImportState(s.Parameters, 2, s.Identities[0], s.Random, s.Pins, blob)).Error);

        // Another identity key for the same party.
        Assert.Equal(ProtocolError.IdentityMismatch, Assert.ThrowsAny<ProtocolException>(() =>
            SecureAggregationParty.ImportState(s.Parameters, 1, s.Identities[1], s.Random, s.Pins, blob)).Error);

        // Another session.
        using var other = new SessionHarness(4, 3, Layout, seed: 561);
        Assert.Equal(ProtocolError.Malformed, Assert.ThrowsAny<ProtocolException>(() =>
            SecureAggregationParty.ImportState(other.Parameters, 1, s.Identities[0], s.Random, s.Pins, blob)).Error);

        // Same session id, different parameters: threshold, round, modeller key.
        var id = s.Parameters.SessionId;
        foreach (var changed in new[]
        {
            SessionParameters.Create(id, 4, Layout, s.Modeller.PublicKey, 4, round: 3, chunkElements: 7),
            SessionParameters.Create(id, 4, Layout, s.Modeller.PublicKey, 3, round: 4, chunkElements: 7),
            SessionParameters.Create(id, 4, Layout, other.Modeller.PublicKey, 3, round: 3, chunkElements: 7),
        })
        {
            Assert.Equal(ProtocolError.Malformed, Assert.ThrowsAny<ProtocolException>(() =>
                SecureAggregationParty.ImportState(changed, 1, s.Identities[0], s.Random, s.Pins, blob)).Error);
        }

        // The unchanged parameters rebuilt from scratch are accepted.
        using var same = SecureAggregationParty.ImportState(
            SessionParameters.Create(id, 4, Layout, s.Modeller.PublicKey, 3, round: 3, chunkElements: 7), 1, s.Identities[0], s.Random, s.Pins, blob);
        Assert.Equal(Step.KeysPublished, same.State);
    }

    [Fact]
    public void WipedSecrets_AreNotInStatesExportedAfterTheyWereWiped()
    {
        using var s = new SessionHarness(4, 3, Layout, seed: 570);
        var inputs = Inputs(s, new DeterministicTestRandom(4));
        var bundles = s.Parties.Select(p => p.CreateKeyBundle()).ToList();
        var keysState = Parse(s[1].ExportState());
        Assert.Equal(Step.KeysPublished, keysState.Step);
        Assert.Equal(bundles[0].SealKey, X25519KeyPair.FromPrivateKey(keysState.SealKey!).PublicKey);
        Assert.Equal(bundles[0].MaskKey, X25519KeyPair.FromPrivateKey(keysState.MaskKey!).PublicKey);

        var envelopes = s.Parties.SelectMany(p => p.CreateShareEnvelopes(bundles)).ToList();
        var sharesBlob = s[1].ExportState();
        var shares = Parse(sharesBlob);
        var (seal, mask, selfMask) = (shares.SealKey!, shares.MaskKey!, shares.SelfMask!);
        Assert.Equal(keysState.SealKey, seal);
        Assert.Equal(keysState.MaskKey, mask);
        Assert.True(Contains(sharesBlob, selfMask));

        foreach (var i in new[] { 1, 2, 3, 4 })
        {
            s[i].CreateMaskedInput([.. envelopes.Where(e => e.To == i)], inputs[i]);
        }

        // The extracted b_1 really is party 1's self-mask seed: the shares of it the others hold reconstruct it.
        var heldByOthers = new[] { 2, 3, 4 }.Select(j => new ShamirShare((byte)j, Parse(s[j].ExportState()).Shares[1].SelfMask)).ToList();
        Assert.Equal(selfMask, ShamirSecretSharing.Combine(heldByOthers, 3));
        var ownShares = Parse(s[1].ExportState()).Shares.Values.SelectMany(x => new[] { x.SelfMask, x.MaskKey }).ToList();

        // After step 3, unconfirmed: s_1 and b_1 are kept (to recompute the vector), c_1 is gone.
        var unconfirmed = s[1].ExportState();
        Assert.False(Contains(unconfirmed, seal));
        Assert.True(Contains(unconfirmed, mask));
        Assert.True(Contains(unconfirmed, selfMask));

        // Confirmed: none of the three.
        s[1].ConfirmMaskedInputAccepted();
        var confirmed = s[1].ExportState();
        Assert.False(Contains(confirmed, seal));
        Assert.False(Contains(confirmed, mask));
        Assert.False(Contains(confirmed, selfMask));
        Assert.All(ownShares, share => Assert.True(Contains(confirmed, share)));

        // Party 2 never confirms: a valid unmask request wipes its b_2 and s_2 as well; after answering, the held shares go too.
        var state2 = Parse(s[2].ExportState());
        var request = new UnmaskRequest(s.Parameters.SessionId, [1, 2, 3, 4], [1, 2, 3, 4]);
        s[2].CreateUnmaskResponse(request);
        s[1].CreateUnmaskResponse(request);
        var responded2 = s[2].ExportState();
        Assert.False(Contains(responded2, state2.MaskKey!));
        Assert.False(Contains(responded2, state2.SelfMask!));
        var responded1 = s[1].ExportState();
        Assert.All(ownShares, share => Assert.False(Contains(responded1, share)));
        Assert.Null(Parse(responded1).SealKey);
    }

    private static Dictionary<int, double[]> Inputs(SessionHarness s, DeterministicTestRandom random) =>
        Enumerable.Range(1, s.Parameters.PartyCount).ToDictionary(
            i => i,
            _ => Enumerable.Range(0, 5).Select(_ => (double)random.NextInt(-1000, 1001)).Concat([random.NextDouble(-1, 1), random.NextDouble(-1, 1)]).ToArray());

    private static void AssertPlainSum(Dictionary<int, double[]> inputs, int[] included, AggregateResult result)
    {
        Assert.Equal(included, result.IncludedParties);
        Assert.Equal(Enumerable.Range(0, 5).Select(k => included.Sum(i => (long)inputs[i][k])).ToArray(), result.SumInteger("c"));
        var real = result.Sum("r");
        for (var k = 0; k < 2; k++)
        {
            Assert.Equal(included.Sum(i => inputs[i][5 + k]), real[k], 8);
        }
    }

    /// <summary>
    /// The session as the service relays it; <paramref name="restart"/> decides per party and stage whether the party is
    /// exported, disposed and re-imported; <paramref name="retry"/> whether the step is then repeated (as an agent that
    /// does not know whether its message arrived) and must give identical bytes. dropRound as in <see cref="SessionHarness.Run"/>.
    /// </summary>
    private static AggregateResult Run(
        SessionHarness s,
        Dictionary<int, double[]> inputs,
        Dictionary<int, int> dropRound,
        Func<int, Stage, bool> restart,
        Func<int, bool> confirm,
        Func<int, Stage, bool> retry)
    {
        int Drop(int i) => dropRound.TryGetValue(i, out var r) ? r : 0;
        var all = Enumerable.Range(1, s.Parameters.PartyCount).ToArray();
        void Maybe(int i, Stage stage)
        {
            if (restart(i, stage))
            {
                Restart(s, i);
            }
        }

        foreach (var i in all)
        {
            Maybe(i, Stage.Created);
        }

        var bundles = new List<KeyBundle>();
        foreach (var i in all.Where(i => Drop(i) != 1))
        {
            var bundle = s[i].CreateKeyBundle();
            Maybe(i, Stage.AfterKeys);
            if (retry(i, Stage.AfterKeys))
            {
                Assert.Equal(bundle.ToBytes(), s[i].CreateKeyBundle().ToBytes());
            }

            bundles.Add(KeyBundle.Parse(bundle.ToBytes()));
        }

        var u1 = bundles.Select(b => b.Party).ToArray();
        var envelopes = new List<ShareEnvelope>();
        foreach (var i in u1.Where(i => Drop(i) != 2))
        {
            var sent = Bytes(s[i].CreateShareEnvelopes(bundles));
            Maybe(i, Stage.AfterShares);
            Assert.Equal(Step.SharesSent, s[i].State);
            if (retry(i, Stage.AfterShares))
            {
                Assert.Equal(sent, Bytes(s[i].CreateShareEnvelopes(bundles)));
            }

            envelopes.AddRange(sent.Select(e => ShareEnvelope.Parse(e)));
        }

        var u2 = u1.Where(i => Drop(i) != 2).ToArray();
        var masked = new Dictionary<int, ulong[]>();
        foreach (var i in u2.Where(i => Drop(i) != 3))
        {
            var received = envelopes.Where(e => e.To == i).ToList();
            var vector = s[i].CreateMaskedInput(received, inputs[i]);
            Maybe(i, Stage.AfterMaskedInput);
            Assert.Equal(Step.MaskedInputSent, s[i].State);
            if (retry(i, Stage.AfterMaskedInput))
            {
                // The upload was lost: the restarted agent recomputes the identical vector.
                Assert.False(s[i].MaskedInputConfirmed);
                Assert.Equal(vector, s[i].CreateMaskedInput(received, inputs[i]));
            }

            if (confirm(i))
            {
                s[i].ConfirmMaskedInputAccepted();
                Maybe(i, Stage.AfterConfirm);
                Assert.True(s[i].MaskedInputConfirmed);
            }

            masked[i] = vector;
        }

        var u3 = masked.Keys.Order().ToArray();
        var summer = new MaskedInputSummer(s.Parameters, u3);
        foreach (var (party, vector) in masked)
        {
            foreach (var chunk in MaskedInputChunk.Split(s.Parameters.SessionId, party, vector, s.Parameters.ChunkElements))
            {
                summer.Accept(MaskedInputChunk.Parse(chunk.ToBytes()));
            }
        }

        var request = new UnmaskRequest(s.Parameters.SessionId, u2, u3);
        using var unmasker = new SecureAggregationUnmasker(s.Parameters, s.Modeller, s.Pins);
        unmasker.AcceptKeyBundles(bundles);
        unmasker.AcceptUnmaskRequest(request);
        foreach (var i in u3.Where(i => Drop(i) != 4))
        {
            var response = s[i].CreateUnmaskResponse(request).ToBytes();
            Maybe(i, Stage.AfterResponse);
            Assert.Equal(Step.Responded, s[i].State);
            if (retry(i, Stage.AfterResponse))
            {
                Assert.Equal(response, s[i].CreateUnmaskResponse(UnmaskRequest.Parse(request.ToBytes())).ToBytes());
            }

            unmasker.AcceptResponse(UnmaskResponse.Parse(response));
        }

        return unmasker.Finish(summer.GetSum());
    }

    /// <summary>Exports party i, disposes it and replaces it by the imported copy; the copy re-exports to the same bytes.</summary>
    private static void Restart(SessionHarness s, int i)
    {
        var before = s[i];
        var blob = before.ExportState();
        var state = before.State;
        var confirmed = before.MaskedInputConfirmed;
        before.Dispose();
        var after = Import(s, i, blob);
        Assert.Equal(state, after.State);
        Assert.Equal(confirmed, after.MaskedInputConfirmed);
        Assert.Equal(blob, after.ExportState());
        s.Parties[i - 1] = after;
    }

    private static SecureAggregationParty Import(SessionHarness s, int i, ReadOnlySpan<byte> blob) =>
        SecureAggregationParty.ImportState(s.Parameters, i, s.Identities[i - 1], s.Random, s.Pins, blob);

    private static List<byte[]> Bytes(IEnumerable<ShareEnvelope> envelopes) => [.. envelopes.Select(e => e.ToBytes())];

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>Parses a state blob following the format documented in docs/protocols/secure-aggregation.md ("Resuming a party").</summary>
    private static ParsedState Parse(byte[] blob)
    {
        var p = 0;
        ReadOnlySpan<byte> Take(int n)
        {
            var slice = blob.AsSpan(p, n);
            p += n;
            return slice;
        }

        uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));
        byte[] Prefixed() => Take((int)U32()).ToArray();
        int[] Parties() => [.. Enumerable.Range(0, (int)U32()).Select(_ => (int)U32())];

        Assert.Equal("smpc/secagg/party-state"u8.ToArray(), Take(23).ToArray());
        Assert.Equal(2, Take(1)[0]);
        Take(BinaryPrimitives.ReadUInt16BigEndian(Take(2)));
        Take(32 + 4 + 32);
        var result = new ParsedState { Step = (Step)Take(1)[0] };
        var sections = U32();
        if ((sections & 0x001) != 0)
        {
            Prefixed();
        }

        if ((sections & 0x002) != 0)
        {
            result.SealKey = Take(32).ToArray();
        }

        if ((sections & 0x004) != 0)
        {
            result.MaskKey = Take(32).ToArray();
        }

        if ((sections & 0x008) != 0)
        {
            for (var k = U32(); k > 0; k--)
            {
                Prefixed();
            }

            for (var k = U32(); k > 0; k--)
            {
                Prefixed();
            }
        }

        if ((sections & 0x010) != 0)
        {
            result.SelfMask = Take(32).ToArray();
        }

        if ((sections & 0x020) != 0)
        {
            Take(32);
        }

        if ((sections & 0x040) != 0)
        {
            Parties();
        }

        if ((sections & 0x080) != 0)
        {
            for (var k = U32(); k > 0; k--)
            {
                var owner = (int)U32();
                result.Shares[owner] = (Take(32).ToArray(), Take(32).ToArray());
            }
        }

        if ((sections & 0x100) != 0)
        {
            Parties();
            Parties();
        }

        if ((sections & 0x200) != 0)
        {
            Prefixed();
            Prefixed();
        }

        Assert.Equal(blob.Length - 32, p);
        return result;
    }

    private sealed class ParsedState
    {
        public Step Step { get; init; }

        public byte[]? SealKey { get; set; }

        public byte[]? MaskKey { get; set; }

        public byte[]? SelfMask { get; set; }

        public Dictionary<int, (byte[] SelfMask, byte[] MaskKey)> Shares { get; } = [];
    }
}
