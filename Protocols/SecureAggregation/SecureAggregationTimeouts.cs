namespace Smpc.Protocols.SecureAggregation;

/// <summary>How long each phase of a round waits for late pods.</summary>
public sealed record SecureAggregationTimeouts(TimeSpan KeyExchange, TimeSpan ShareExchange, TimeSpan MaskedInput, TimeSpan Unmasking)
{
    /// <summary>The same timeout for every phase.</summary>
    public static SecureAggregationTimeouts All(TimeSpan timeout) => new(timeout, timeout, timeout, timeout);

    /// <summary>The timeout of <paramref name="phase"/> (an end phase has none).</summary>
    public TimeSpan For(SecureAggregationPhase phase) => phase switch
    {
        SecureAggregationPhase.KeyExchange => KeyExchange,
        SecureAggregationPhase.ShareExchange => ShareExchange,
        SecureAggregationPhase.MaskedInput => MaskedInput,
        SecureAggregationPhase.Unmasking => Unmasking,
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, "an end phase has no timeout"),
    };
}
