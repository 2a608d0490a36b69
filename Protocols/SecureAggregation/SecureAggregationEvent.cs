namespace Smpc.Protocols.SecureAggregation;

/// <summary>Something a secure-aggregation coordinator decided that the service must act on (store, sum, measure, audit).</summary>
public abstract record SecureAggregationEvent
{
    /// <summary>A phase closed and <paramref name="To"/> opened (or the round ended).</summary>
    public sealed record PhaseClosed(SecureAggregationPhase From, SecureAggregationPhase To) : SecureAggregationEvent;

    /// <summary>A pod published its key bundle: its first step in the round.</summary>
    public sealed record KeyBundleAccepted(int Party) : SecureAggregationEvent;

    /// <summary>Store the party's share envelopes (the bytes the message carried).</summary>
    public sealed record EnvelopesAccepted(int Party) : SecureAggregationEvent;

    /// <summary>Forget the party's share envelopes: it declined before they were released.</summary>
    public sealed record EnvelopesWithdrawn(int Party) : SecureAggregationEvent;

    /// <summary>Sum these survivors' masked vectors mod q (U3 is fixed), then report it with <see cref="SecureAggregationCoordinator.SumStored"/>.</summary>
    public sealed record SumSurvivors(IReadOnlyList<int> Survivors) : SecureAggregationEvent;

    /// <summary>A pod declined with a reason category.</summary>
    public sealed record PartyDeclined(int Party, string Category) : SecureAggregationEvent;

    /// <summary>The round failed with <paramref name="Reason"/>.</summary>
    public sealed record RoundFailed(string Reason) : SecureAggregationEvent;

    /// <summary>The modeller computed the result from <paramref name="Included"/>.</summary>
    public sealed record RoundCompleted(IReadOnlyList<int> Included) : SecureAggregationEvent;
}
