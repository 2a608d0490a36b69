using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Smpc.Grains.Interfaces.Diagnostics;

/// <summary>Names of every ActivitySource, Meter and attribute the service emits; one place, so dashboards do not drift.</summary>
public static class SmpcTelemetry
{
    public const string GrainsSourceName = "Smpc.Grains";
    public const string GatewaySourceName = "Smpc.Gateway";
    public const string ClientSourceName = "Smpc.Client";
    public const string MeterName = "Smpc";
    /// <summary>Wildcard for Orleans' own sources (application, runtime, storage, lifecycle).</summary>
    public const string OrleansSources = "Microsoft.Orleans.*";

    public const string TenantAttribute = "smpc.tenant";
    public const string SessionAttribute = "smpc.session";
    public const string PayloadAttribute = "smpc.payload";
    public const string ChunkIndexAttribute = "smpc.chunk.index";
    public const string BytesAttribute = "smpc.bytes";

    /// <summary>The grains' activity source.</summary>
    public static readonly ActivitySource Grains = new(GrainsSourceName);

    /// <summary>The gateway's activity source.</summary>
    public static readonly ActivitySource Gateway = new(GatewaySourceName);

    /// <summary>The service meter.</summary>
    public static readonly Meter Meter = new(MeterName);

    /// <summary>Bytes of payload chunks durably stored.</summary>
    public static readonly Counter<long> PayloadBytesStored = Meter.CreateCounter<long>("smpc.payload.bytes_stored", "By");

    /// <summary>Sessions created.</summary>
    public static readonly Counter<long> SessionsCreated = Meter.CreateCounter<long>("smpc.sessions.created");

    /// <summary>API keys issued, by role.</summary>
    public static readonly Counter<long> CredentialsIssued = Meter.CreateCounter<long>("smpc.credentials.issued");

    /// <summary>Sessions that ended, by kind and outcome (recorded when the ending is saved).</summary>
    public static readonly Counter<long> SessionsEnded = Meter.CreateCounter<long>("smpc.sessions.ended");

    /// <summary>Bytes of protocol messages and payloads relayed by the service.</summary>
    public static readonly Counter<long> BytesRelayed = Meter.CreateCounter<long>("smpc.bytes.relayed", "By");

    /// <summary>Seconds from session creation to the end of each phase, by kind and phase (recorded when a phase change is saved).</summary>
    public static readonly Histogram<double> PhaseDurations = Meter.CreateHistogram<double>("smpc.session.phase_end", "s", "Seconds from session creation to the end of each phase.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400] });

    /// <summary>Storage operations that failed (grain state writes, payload chunk writes, reads and deletes, audit appends, the readiness write), by operation.</summary>
    public static readonly Counter<long> StorageFailures = Meter.CreateCounter<long>("smpc.storage.failures");

    /// <summary>PSI elements stored, by payload (pod set, query, reply, double-blinded set) and protocol (kkrt: base OTs of the setup, rows of the query, pod records of the reply).</summary>
    public static readonly Counter<long> PsiElements = Meter.CreateCounter<long>("smpc.psi.elements");

    /// <summary>Bytes of PSI payloads stored, by payload and protocol.</summary>
    public static readonly Counter<long> PsiPayloadBytes = Meter.CreateCounter<long>("smpc.psi.bytes", "By");

    /// <summary>Federated query and training steps (member key, sealed keys, round, release, metrics, decline, finish), by step and session kind.</summary>
    public static readonly Counter<long> FederatedSteps = Meter.CreateCounter<long>("smpc.federated.steps");

    /// <summary>Problems (RFC 9457) the gateway answered, by problem type (the last segment of its URI) and status.</summary>
    public static readonly Counter<long> HttpProblems = Meter.CreateCounter<long>("smpc.http.problems");

    /// <summary>Requests refused over a tenant quota (429 quota-exceeded), by quota.</summary>
    public static readonly Counter<long> QuotaRejections = Meter.CreateCounter<long>("smpc.quota.rejections");

    /// <summary>Requests refused by a gateway's rate limiter (429 too-many-requests), by limiter.</summary>
    public static readonly Counter<long> RateLimitRejections = Meter.CreateCounter<long>("smpc.ratelimit.rejections");

    /// <summary>The sessions-by-phase gauge (service-wide, from the session census grain; every gateway reports the same value, so aggregate with max).</summary>
    public const string SessionsByPhaseName = "smpc.sessions.by_phase";

    /// <summary>The silos gauge: silos of the cluster's membership table by status (from the management grain; aggregate with max).</summary>
    public const string ClusterSilosName = "smpc.cluster.silos";

    /// <summary>Tag of the silos gauge: the Orleans <c>SiloStatus</c> name (Joining, Active, ShuttingDown, Stopping, Dead).</summary>
    public const string SiloStatusTag = "smpc.silo.status";

    /// <summary>Tag of <see cref="PhaseDurations"/> and the sessions-by-phase gauge: the phase's name (as <c>SessionResponse.phase</c>).</summary>
    public const string PhaseTag = "smpc.phase";

    /// <summary>Tag of session counters: the session kind (the <c>SessionKind</c> member name).</summary>
    public const string SessionKindTag = "smpc.session.kind";

    /// <summary>Tag of <see cref="SessionsEnded"/>: completed, failed or cancelled.</summary>
    public const string OutcomeTag = "smpc.session.outcome";

    /// <summary>Tag of <see cref="QuotaRejections"/>: concurrent_sessions, payload_bytes or psi_elements.</summary>
    public const string QuotaTag = "smpc.quota";

    /// <summary>Tag of <see cref="RateLimitRejections"/>: address (per client address, before authentication) or credential.</summary>
    public const string LimiterTag = "smpc.limiter";

    /// <summary>Tag of <see cref="StorageFailures"/>: the operation that failed (a fixed name such as session.cancel, payload.chunk.write, audit.append, health).</summary>
    public const string OperationTag = "smpc.operation";

    /// <summary>Tag of <see cref="HttpProblems"/>: the problem type's last URI segment (e.g. quota-exceeded).</summary>
    public const string ProblemTypeTag = "smpc.problem.type";
    /// <summary>Webhook delivery attempts, by <c>outcome</c>: delivered (a 2xx), retry (any other answer or none; retried later), failed (given up).</summary>
    public static readonly Counter<long> WebhookDeliveries = Meter.CreateCounter<long>("smpc.webhook.deliveries");

    /// <summary>Seconds from an event (its audit entry) to its delivery's 2xx.</summary>
    public static readonly Histogram<double> WebhookDeliveryLag = Meter.CreateHistogram<double>("smpc.webhook.delivery.lag", "s");

    /// <summary>Observable gauge: deliveries pending across the webhook dispatchers active in this silo.</summary>
    public const string WebhookBacklogName = "smpc.webhook.backlog";

    /// <summary>Span attribute: a webhook endpoint id.</summary>
    public const string WebhookAttribute = "smpc.webhook";

    /// <summary>Span attribute: a webhook delivery's id (the webhook-id header).</summary>
    public const string WebhookMessageAttribute = "smpc.webhook.message";

    /// <summary>Span attribute: how many set elements a step handled (never the elements themselves).</summary>
    public const string ElementsAttribute = "smpc.psi.elements";
}
