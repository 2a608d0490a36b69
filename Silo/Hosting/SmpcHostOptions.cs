namespace Smpc.Silo.Hosting;

/// <summary>How a silo runs: <see cref="HostingMode.Embedded"/> (default) or <see cref="HostingMode.Cluster"/>. Bound from the <c>Smpc</c> section.</summary>
public sealed class SmpcHostOptions
{
    public const string Section = "Smpc";

    /// <summary>Embedded (one process, SQLite, co-hosted gateway) or Cluster (PostgreSQL, many silos).</summary>
    public HostingMode Mode { get; set; } = HostingMode.Embedded;

    /// <summary>Embedded mode: folder of the SQLite database <c>smpc.db</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    public string ClusterId { get; set; } = "smpc";

    /// <summary>Grain state is keyed by the service id: keep it stable across deployments.</summary>
    public string ServiceId { get; set; } = "smpc";

    /// <summary>The silo's name in the membership table and the dashboard (default: Orleans picks one); e.g. the pod or process name.</summary>
    public string? SiloName { get; set; }

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port Orleans clients (standalone gateways) connect to.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Address other silos and clients reach this silo on (cluster mode).</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Serve the REST API from the silo process; defaults to true in embedded mode, false in cluster mode.</summary>
    public bool? CoHostGateway { get; set; }

    /// <summary>Apply deploy/sql at start; defaults to true in embedded mode, false in cluster mode (run <c>migrate</c>).</summary>
    public bool? ApplySchemaOnStart { get; set; }

    /// <summary>Cluster membership timing (dead-silo detection).</summary>
    public TimeSpan? ProbeTimeout { get; set; }

    /// <summary>Missed probes before a silo is voted dead.</summary>
    public int? NumMissedProbesLimit { get; set; }

    public bool ServesRestApi => CoHostGateway ?? Mode == HostingMode.Embedded;

    public bool AppliesSchema => ApplySchemaOnStart ?? Mode == HostingMode.Embedded;
}

/// <summary>The two ways to run the service.</summary>
public enum HostingMode
{
    /// <summary>One process: localhost clustering, SQLite grain storage, REST co-hosted.</summary>
    Embedded = 1,
    /// <summary>Many silo processes on PostgreSQL (clustering, storage, reminders); gateways as separate processes.</summary>
    Cluster = 2,
}
