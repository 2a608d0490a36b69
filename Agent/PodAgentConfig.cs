using Smpc.Agent.DataSources;
using Smpc.Agent.Identity;
using Smpc.Agent.Psi;
using Smpc.Agent.Query;
using Smpc.Agent.SecureAggregation;
using Smpc.Agent.Training;
using Smpc.Client.Identity;

namespace Smpc.Agent;

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
    public SecureAggregationPolicy Policy { get; init; } = new();

    /// <summary>Named record sources a modeller may run PSI against (CSV, SQLite or PostgreSQL).</summary>
    public Dictionary<string, RecordSourceConfig> Sources { get; init; } = [];

    /// <summary>What the pod agrees to in PSI.</summary>
    public PsiPolicy Psi { get; init; } = new();

    /// <summary>What the pod agrees to in federated SQL queries (tables and columns open to queries, minimum rows per group, time limit).</summary>
    public QueryPolicy Query { get; init; } = new();

    /// <summary>What the pod agrees to in federated training (trainers, columns of each source).</summary>
    public TrainingPolicy Training { get; init; } = new();

    /// <summary>Pinned identity fingerprints of peer pods (pod id → sha256:…); unpinned peers are taken from the service's registry.</summary>
    public Dictionary<string, string> Pins { get; init; } = [];

    /// <summary>Pinned identity fingerprints of modellers (modeller id → sha256:…); they win over the pins file.</summary>
    public Dictionary<string, string> ModellerPins { get; init; } = [];

    /// <summary>The agent's pin store, relative to <see cref="StateDirectory"/>: first-use pins and pins added by hand.</summary>
    public string PinsFile { get; init; } = "pins.json";

    /// <summary>Whether an unpinned modeller is pinned from the service's registry on first use (with a loud log line).</summary>
    public bool TrustOnFirstUse { get; init; } = true;

    /// <summary>
    /// The agent's one pin store (configured modeller pins, then the pins file in the state directory); the single place
    /// pins are wired, so pod pins and <c>smpc pins</c> can join the same store.
    /// </summary>
    public PinStore CreatePinStore(string baseDirectory, Action<string> notice)
    {
        var state = Path.IsPathRooted(StateDirectory) ? StateDirectory : Path.Combine(baseDirectory, StateDirectory);
        var file = Path.IsPathRooted(PinsFile) ? PinsFile : Path.Combine(state, PinsFile);
        return new PinStore(file, ModellerPins.Select(p => new Pin(Tenant, PinKinds.Modeller, p.Key, p.Value, PinSources.Configured, DateTimeOffset.UnixEpoch)),
            TrustOnFirstUse, notice);
    }

    /// <summary>How often the agent asks for work.</summary>
    public double PollSeconds { get; init; } = 1;
}
