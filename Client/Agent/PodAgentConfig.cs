namespace Smpc.Client.Agent;

/// <summary>The pod agent's configuration file (JSON). Paths are relative to the file.</summary>
public sealed record PodAgentConfig
{
    /// <summary>The service's base URL.</summary>
    public string Url { get; init; } = "http://127.0.0.1:5080";

    public string Tenant { get; init; } = "";

    public string Pod { get; init; } = "";

    /// <summary>The pod's API key; or leave empty and set <see cref="ApiKeyEnvironmentVariable"/>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Environment variable holding the API key (default SMPC_POD_KEY).</summary>
    public string ApiKeyEnvironmentVariable { get; init; } = "SMPC_POD_KEY";

    /// <summary>The Ed25519 identity key file written by <c>smpc identity new</c>.</summary>
    public string IdentityKeyFile { get; init; } = "";

    /// <summary>Where the agent keeps which sessions it has finished (resumes from here after a restart).</summary>
    public string StateDirectory { get; init; } = "state";

    /// <summary>Named inputs a modeller may ask for.</summary>
    public Dictionary<string, PodInput> Inputs { get; init; } = [];

    /// <summary>What the pod agrees to.</summary>
    public PodPolicy Policy { get; init; } = new();

    /// <summary>Named record sources a modeller may run PSI against (CSV, SQLite or PostgreSQL).</summary>
    public Dictionary<string, Smpc.Client.Psi.Sources.RecordSourceConfig> Sources { get; init; } = [];

    /// <summary>What the pod agrees to in PSI.</summary>
    public Smpc.Client.Psi.PodPsiPolicy Psi { get; init; } = new();

    /// <summary>What the pod agrees to in federated SQL queries (tables and columns open to queries, minimum rows per group, time limit).</summary>
    public Smpc.Client.FederatedQuery.PodQueryPolicy Query { get; init; } = new();

    /// <summary>What the pod agrees to in federated training (trainers, columns of each source).</summary>
    public Smpc.Client.Training.PodTrainingPolicy Training { get; init; } = new();

    /// <summary>Pinned identity fingerprints of peer pods (pod id → sha256:…); unpinned peers are taken from the service's registry.</summary>
    public Dictionary<string, string> Pins { get; init; } = [];

    /// <summary>How often the agent asks for work.</summary>
    public double PollSeconds { get; init; } = 1;
}

/// <summary>
/// A named input: one number, inline values, or a vector/tensor file (.json, .csv, .npy) — always plain x. For weighted
/// means it also says the pod's weight: <see cref="Weight"/> or <see cref="WeightRowsOf"/>; the agent forms w·x itself.
/// </summary>
public sealed record PodInput
{
    public double? Value { get; init; }

    public double[]? Values { get; init; }

    public string? File { get; init; }

    /// <summary>Weighted means: this pod's weight as a number (e.g. its sample count).</summary>
    public double? Weight { get; init; }

    /// <summary>Weighted means: the weight is the row count of this file (CSV data rows after a header, .npy first dimension, JSON top-level array length).</summary>
    public string? WeightRowsOf { get; init; }
}

/// <summary>The pod's own rules: which modellers and operations it serves. Empty lists allow all.</summary>
public sealed record PodPolicy
{
    public List<string> Modellers { get; init; } = [];

    public List<string> Operations { get; init; } = ["sum", "mean", "weighted-mean"];
}
