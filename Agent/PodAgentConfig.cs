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

    /// <summary>
    /// Pinned identity fingerprints of peer pods (pod id → sha256:…). They win over the pins file; a peer presenting another
    /// identity stops the session before this pod sends anything.
    /// </summary>
    public Dictionary<string, string> Pins { get; init; } = [];

    /// <summary>The agent's pins file (first-use and hand-added pins); null: <c>pins.json</c> in <see cref="StateDirectory"/>.</summary>
    public string? PinsFile { get; init; }

    /// <summary>
    /// Whether an unpinned peer is pinned from the service's registry the first time it is seen (announced in the log as a
    /// warning; any later change is refused). False: an unpinned peer stops the session.
    /// </summary>
    public bool TrustOnFirstUse { get; init; } = true;

    /// <summary>Pinned identity fingerprints of modellers (modeller id → sha256:…); they win over the pins file.</summary>
    public Dictionary<string, string> ModellerPins { get; init; } = [];

    /// <summary>How often the agent asks for work.</summary>
    public double PollSeconds { get; init; } = 1;

    /// <summary>The pins file's full path: <see cref="PinsFile"/>, else <c>pins.json</c> in the state directory (relative paths from <paramref name="baseDirectory"/>).</summary>
    public string PinsFilePath(string baseDirectory) =>
        Path.GetFullPath(PinsFile ?? Path.Combine(StateDirectory, "pins.json"), Path.GetFullPath(baseDirectory));

    /// <summary>
    /// The agent's one <see cref="PinStore"/>: every configured pin, the pins file, and <see cref="TrustOnFirstUse"/>;
    /// <paramref name="notice"/> hears each first use (the agent logs it as a warning).
    /// </summary>
    /// <exception cref="InvalidDataException">The pins file is damaged, or a configured pin is not a fingerprint.</exception>
    public PinStore CreatePinStore(string baseDirectory, Action<string> notice)
    {
        try
        {
            return new PinStore(PinsFilePath(baseDirectory), ConfiguredPins(), TrustOnFirstUse, notice);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"pins: {e.Message}", e);
        }
    }

    /// <summary>The configuration's pins of every kind: one line per configured source.</summary>
    public IEnumerable<Pin> ConfiguredPins() =>
    [
        .. Configured(PinKinds.Pod, Pins),
        .. Configured(PinKinds.Modeller, ModellerPins),
    ];

    private IEnumerable<Pin> Configured(string kind, IReadOnlyDictionary<string, string> pins) =>
        pins.Select(p => new Pin(Tenant, kind, p.Key, p.Value, PinSources.Configured, DateTimeOffset.UnixEpoch));
}
