using Orleans.Concurrency;

namespace Smpc.Grains.Interfaces.Idempotency;

/// <summary>
/// One <c>Idempotency-Key</c> of one caller on one route, keyed by the hex SHA-256 of the key and its scope (so the key
/// itself is never stored): the request's keyed hash, the first response sealed with a key derived from the raw
/// Idempotency-Key (the service cannot read it back without the key), and an in-progress lease so that concurrent
/// duplicates through any gateways run the request once. Entries expire <see cref="Retention"/> after their first use;
/// an expired one behaves as new.
/// </summary>
[Alias("smpc.idempotency")]
public interface IIdempotencyGrain : IGrainWithStringKey
{
    /// <summary>How long a key's first response is kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>
    /// Starts a request with this key: replay the stored response, refuse a different request (mismatch), wait for a
    /// running one (in progress), or proceed under a new lease of <paramref name="lease"/>.
    /// </summary>
    [Alias("begin")] Task<IdempotencyBegin> BeginAsync([Immutable] byte[] requestHash, TimeSpan lease);

    /// <summary>Stores the sealed response of the request holding <paramref name="lease"/> (ignored if the lease was lost).</summary>
    [Alias("complete")] Task<bool> CompleteAsync(Guid lease, [Immutable] byte[] sealedResponse);

    /// <summary>
    /// Extends <paramref name="lease"/> to <paramref name="duration"/> from now while its request still runs (the gateway
    /// renews it periodically); false if the lease was lost (lapsed and taken, completed or released).
    /// </summary>
    [Alias("renew")] Task<bool> RenewAsync(Guid lease, TimeSpan duration);

    /// <summary>Ends <paramref name="lease"/> without a response (a 5xx or a retriable refusal: the next retry runs again).</summary>
    [Alias("release")] Task ReleaseAsync(Guid lease);

    /// <summary>Returns once no request holds a lease, or after <paramref name="max"/>.</summary>
    [Alias("wait"), AlwaysInterleave] Task WaitAsync(TimeSpan max);
}

/// <summary>What a request with an idempotency key does.</summary>
public enum IdempotencyOutcome
{
    /// <summary>Run the request (the lease is held).</summary>
    Proceed = 1,
    /// <summary>Answer the stored response again.</summary>
    Replay = 2,
    /// <summary>The key was used for another request: 422.</summary>
    Mismatch = 3,
    /// <summary>The first request with the key is still running.</summary>
    InProgress = 4,
}

/// <summary>The answer to <see cref="IIdempotencyGrain.BeginAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("smpc.idempotency-begin")]
public sealed record IdempotencyBegin(
    [property: Id(0)] IdempotencyOutcome Outcome,
    [property: Id(1)] Guid Lease = default,
    [property: Id(2)] byte[]? SealedResponse = null,
    [property: Id(3)] DateTimeOffset? LeaseUntil = null);
