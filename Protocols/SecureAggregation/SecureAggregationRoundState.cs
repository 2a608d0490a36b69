using System.Collections.Immutable;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// What the service knows of one secure-aggregation round: who did what, and the public bytes it must hand out (key
/// bundles, the unmask request, unmask responses sealed to the modeller). Share envelopes and masked vectors are not here:
/// only who sent them (and a digest of each party's envelopes, to tell a retry from a different message); the service
/// stores their bytes elsewhere. Plain and immutable, so the session grain can persist it as it is.
/// </summary>
public sealed record SecureAggregationRoundState
{
    /// <summary>The open phase, or how the round ended.</summary>
    public SecureAggregationPhase Phase { get; init; } = SecureAggregationPhase.KeyExchange;

    /// <summary>When the open phase closes without its late pods; null once nothing waits for a deadline.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Published key bundles by party (public, signed).</summary>
    public ImmutableSortedDictionary<int, byte[]> KeyBundles { get; init; } = ImmutableSortedDictionary<int, byte[]>.Empty;

    /// <summary>Parties whose share envelopes are stored, with the SHA-256 (hex) of the envelopes in order.</summary>
    public ImmutableSortedDictionary<int, string> Envelopes { get; init; } = ImmutableSortedDictionary<int, string>.Empty;

    /// <summary>Parties whose masked vector is committed.</summary>
    public ImmutableSortedSet<int> MaskedInputs { get; init; } = [];

    /// <summary>Unmask responses by party (sealed to the modeller).</summary>
    public ImmutableSortedDictionary<int, byte[]> Responses { get; init; } = ImmutableSortedDictionary<int, byte[]>.Empty;

    /// <summary>Parties declared dropped (late at a phase's close, or declined before their contribution was used).</summary>
    public ImmutableSortedSet<int> Dropped { get; init; } = [];

    /// <summary>Parties that declined, with their reason category (never a value or free text).</summary>
    public ImmutableSortedDictionary<int, string> Declined { get; init; } = ImmutableSortedDictionary<int, string>.Empty;

    /// <summary>U1, fixed when the key exchange closes.</summary>
    public ImmutableArray<int>? KeyHolders { get; init; }

    /// <summary>U2, fixed when the share exchange closes.</summary>
    public ImmutableArray<int>? ShareSenders { get; init; }

    /// <summary>U3, fixed when the masked-input phase closes.</summary>
    public ImmutableArray<int>? Survivors { get; init; }

    /// <summary>The unmask request (U2, U3), built when the masked-input phase closes.</summary>
    public byte[]? UnmaskRequest { get; init; }

    /// <summary>The parties the modeller's result includes (the survivors), once completed.</summary>
    public ImmutableArray<int>? Included { get; init; }

    /// <summary>Why the round failed.</summary>
    public string? FailureReason { get; init; }
}
