using Smpc.Grains.Interfaces.Tenancy;

namespace Smpc.ApiGateway.Hosting;

/// <summary>
/// Token buckets keyed by client address. Bounded: when more than <see cref="MaxAddresses"/> are
/// tracked, buckets that have refilled completely (idle addresses) are dropped, which forgets nothing that matters.
/// </summary>
internal sealed class AddressBuckets(double rate, int burst, TimeProvider time)
{
    private const int MaxAddresses = 100_000;
    private readonly double _rate = double.IsFinite(rate) ? Math.Clamp(rate, TenantLimits.MinRequestsPerSecond, TenantLimits.MaxRequestsPerSecond) : TenantLimits.MinRequestsPerSecond;
    private readonly double _burst = Math.Clamp(burst, 1, TenantLimits.MaxBurst);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes a token: null when one was there, else the whole seconds until one will be.</summary>
    public int? TryTake(string address)
    {
        var bucket = Get(address);
        lock (bucket)
        {
            Refill(bucket);
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                return null;
            }

            return Wait(bucket);
        }
    }

    /// <summary>Null when a token is there (none is taken), else the whole seconds until one will be.</summary>
    public int? Empty(string address)
    {
        if (!_buckets.TryGetValue(address, out var bucket)) return null;
        lock (bucket)
        {
            Refill(bucket);
            return bucket.Tokens >= 1 ? null : Wait(bucket);
        }
    }

    private Bucket Get(string address)
    {
        if (_buckets.Count > MaxAddresses)
        {
            foreach (var (key, idle) in _buckets)
            {
                lock (idle)
                {
                    Refill(idle);
                    if (idle.Tokens >= _burst) _buckets.TryRemove(key, out _);
                }
            }
        }

        return _buckets.GetOrAdd(address, _ => new Bucket { Tokens = _burst, At = time.GetUtcNow() });
    }

    private void Refill(Bucket bucket)
    {
        var now = time.GetUtcNow();
        var elapsed = (now - bucket.At).TotalSeconds;
        if (elapsed > 0) bucket.Tokens = Math.Min(_burst, bucket.Tokens + elapsed * _rate);
        bucket.At = now;
    }

    private int Wait(Bucket bucket) => Math.Max(1, (int)Math.Ceiling((1 - bucket.Tokens) / _rate));

    private sealed class Bucket
    {
        public double Tokens;
        public DateTimeOffset At;
    }
}
