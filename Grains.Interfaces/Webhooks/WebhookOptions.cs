namespace Smpc.Grains.Interfaces.Webhooks;

/// <summary>Webhook delivery settings, bound from <c>Smpc:Webhooks</c> (read by the silo's dispatchers and by the gateway's URL check).</summary>
public sealed class WebhookOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Smpc:Webhooks";

    /// <summary>Plain http to a loopback host is allowed (an embedded service sets it; a cluster never should).</summary>
    public bool AllowLoopbackHttp { get; set; }

    /// <summary>
    /// Webhooks may point at internal addresses (loopback, private, link-local, …; see <see cref="WebhookUrlRule.IsInternal"/>)
    /// in a cluster too. Off by default: a tenant must not make the silos reach the cluster's own network. Only for an
    /// operator whose receivers really live on a private network.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long after its event (or its redelivery) a delivery is retried before it is given up as failed.</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Multiplies every retry delay (tests make it 0 or tiny; 1 in production).</summary>
    public double RetryDelayScale { get; set; } = 1.0;

    /// <summary>Most endpoints a tenant may register.</summary>
    public int MaxEndpointsPerTenant { get; set; } = 20;

    /// <summary>Deliveries kept in an endpoint's log; older delivered or failed ones are dropped (pending ones never).</summary>
    public int MaxLoggedDeliveries { get; set; } = 1000;

    /// <summary>The delays after the 1st, 2nd, … failed attempt (the last repeats), before jitter of ±20 % and the scale.</summary>
    public static IReadOnlyList<TimeSpan> RetryDelays { get; } =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1),
    ];
}
