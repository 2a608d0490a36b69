using Smpc.Protocols.Crypto;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>Drives n parties, the summer and the unmasker through a whole session, as the service would relay it.</summary>
internal sealed class SessionHarness : IDisposable
{
    public SessionHarness(int n, int? threshold, VectorLayout layout, int seed, PrimeField? field = null, int chunkElements = 7, uint round = 3)
    {
        Random = new DeterministicTestRandom(seed);
        Modeller = X25519KeyPair.Generate(Random);
        Parameters = SessionParameters.Create("session-" + seed, n, layout, Modeller.PublicKey, threshold, field, round: round, chunkElements: chunkElements);
        Identities = [.. Enumerable.Range(1, n).Select(_ => Ed25519KeyPair.Generate(Random))];
        Pins = Enumerable.Range(1, n).ToDictionary(i => i, i => Identities[i - 1].Fingerprint);
        Parties = [.. Enumerable.Range(1, n).Select(i => new SecureAggregationParty(Parameters, i, Identities[i - 1], Random, Pins))];
    }

    public DeterministicTestRandom Random { get; }

    public X25519KeyPair Modeller { get; }

    public SessionParameters Parameters { get; }

    public Ed25519KeyPair[] Identities { get; }

    public Dictionary<int, string> Pins { get; }

    public SecureAggregationParty[] Parties { get; }

    public SecureAggregationParty this[int party] => Parties[party - 1];

    /// <summary>Runs the protocol; dropRound[i] = 0 none, 1 before keys, 2 before shares, 3 before masked input, 4 before responding.</summary>
    public AggregateResult Run(IReadOnlyDictionary<int, double[]> inputs, IReadOnlyDictionary<int, int> dropRound) =>
        Run(dropRound, (i, received) => this[i].CreateMaskedInput(received, inputs[i]));

    /// <summary>Runs the protocol with already encoded vectors (e.g. a weighted mean's w·x and w).</summary>
    public AggregateResult RunEncoded(IReadOnlyDictionary<int, ulong[]> encoded, IReadOnlyDictionary<int, int> dropRound) =>
        Run(dropRound, (i, received) => this[i].CreateMaskedInputFromEncoded(received, encoded[i]));

    private AggregateResult Run(IReadOnlyDictionary<int, int> dropRound, Func<int, IReadOnlyList<ShareEnvelope>, ulong[]> submit)
    {
        int Drop(int i) => dropRound.TryGetValue(i, out var r) ? r : 0;
        var all = Enumerable.Range(1, Parameters.PartyCount).ToArray();
        var bundles = all.Where(i => Drop(i) != 1).Select(i => this[i].CreateKeyBundle()).ToList();
        var u1 = bundles.Select(b => b.Party).ToArray();
        var envelopes = u1.Where(i => Drop(i) != 2).SelectMany(i => this[i].CreateShareEnvelopes(bundles)).ToList();
        var u2 = u1.Where(i => Drop(i) != 2).ToArray();
        var masked = new Dictionary<int, ulong[]>();
        foreach (var i in u2.Where(i => Drop(i) != 3))
        {
            masked[i] = submit(i, [.. envelopes.Where(e => e.To == i)]);
        }

        var u3 = masked.Keys.Order().ToArray();
        var summer = new MaskedInputSummer(Parameters, u3);
        foreach (var (party, vector) in masked)
        {
            foreach (var chunk in MaskedInputChunk.Split(Parameters.SessionId, party, vector, Parameters.ChunkElements))
            {
                summer.Accept(MaskedInputChunk.Parse(chunk.ToBytes()));
            }
        }

        var request = new UnmaskRequest(Parameters.SessionId, u2, u3);
        var unmasker = new SecureAggregationUnmasker(Parameters, Modeller, Pins);
        unmasker.AcceptKeyBundles([.. bundles.Select(b => KeyBundle.Parse(b.ToBytes()))]);
        unmasker.AcceptUnmaskRequest(UnmaskRequest.Parse(request.ToBytes()));
        foreach (var i in u3.Where(i => Drop(i) != 4))
        {
            unmasker.AcceptResponse(UnmaskResponse.Parse(this[i].CreateUnmaskResponse(request).ToBytes()));
        }

        return unmasker.Finish(summer.GetSum());
    }

    public void Dispose()
    {
        foreach (var p in Parties)
        {
            p.Dispose();
        }

        foreach (var id in Identities)
        {
            id.Dispose();
        }

        Modeller.Dispose();
    }
}
