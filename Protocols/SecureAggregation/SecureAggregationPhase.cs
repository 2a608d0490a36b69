namespace Smpc.Protocols.SecureAggregation;

/// <summary>Where a secure-aggregation round is, as its coordinator sees it.</summary>
public enum SecureAggregationPhase
{
    /// <summary>Step 1: pods publish signed key bundles.</summary>
    KeyExchange = 1,
    /// <summary>Step 2: pods send sealed share envelopes, relayed unopened.</summary>
    ShareExchange = 2,
    /// <summary>Step 3: pods upload masked vectors.</summary>
    MaskedInput = 3,
    /// <summary>Step 4: survivors answer the unmask request; the modeller unmasks.</summary>
    Unmasking = 4,
    /// <summary>The modeller reported the result's parties.</summary>
    Completed = 5,
    /// <summary>Ended with a reason (too few parties at a deadline, or after declines).</summary>
    Failed = 6,
    /// <summary>Ended early by its modeller or the tenant admin.</summary>
    Cancelled = 7,
}
