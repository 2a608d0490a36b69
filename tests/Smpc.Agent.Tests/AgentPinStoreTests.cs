using System.Text.Json;
using Smpc.Client.Identity;

namespace Smpc.Agent.Tests;

/// <summary>The agent's one pin store, built from its configuration (<see cref="PodAgentConfig.CreatePinStore"/>).</summary>
public sealed class AgentPinStoreTests : IDisposable
{
    private const string A = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string B = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    private readonly string folder = Directory.CreateTempSubdirectory("agent-pins-").FullName;
    private readonly List<string> notices = [];

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static PodAgentConfig Read(string json)
    {
        Assert.Empty(AgentConfigSchema.Validate(json));
        return JsonSerializer.Deserialize<PodAgentConfig>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    [Fact]
    public void ByDefault_PinsLiveInTheStateDirectory_AndFirstUseIsOn()
    {
        var config = Read("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "stateDirectory": "state/p1" }""");
        var store = config.CreatePinStore(folder, notices.Add);

        Assert.Equal(Path.Combine(folder, "state", "p1", "pins.json"), store.Path);
        Assert.True(store.TrustOnFirstUse);
        Assert.Equal(B, store.Resolve("acme", PinKinds.Pod, "p2", B));
        Assert.Single(notices);
        Assert.True(File.Exists(store.Path)); // the next session, and the next start, hold p2 to B
        Assert.Throws<PinMismatchException>(() => config.CreatePinStore(folder, notices.Add).Resolve("acme", PinKinds.Pod, "p2", A));
    }

    [Fact]
    public void ConfiguredPins_AreThePodsOfTheAgentsTenant_AndWinOverThePinsFile()
    {
        var config = Read($$"""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "pinsFile": "my-pins.json", "trustOnFirstUse": false, "pins": { "p2": "{{A}}" } }""");
        var store = config.CreatePinStore(folder, notices.Add);

        Assert.Equal(Path.Combine(folder, "my-pins.json"), store.Path);
        Assert.False(store.TrustOnFirstUse);
        var pin = Assert.Single(store.List());
        Assert.Equal(("acme", PinKinds.Pod, "p2", A, PinSources.Configured), (pin.Tenant, pin.Kind, pin.Id, pin.Fingerprint, pin.Source));
        Assert.Throws<PinMismatchException>(() => store.Resolve("acme", PinKinds.Pod, "p2", B));
        var unpinned = Assert.Throws<PinMismatchException>(() => store.Resolve("acme", PinKinds.Pod, "p3", B));
        Assert.Null(unpinned.Pinned);
        Assert.Empty(notices);
        Assert.False(File.Exists(store.Path)); // nothing was pinned on first use
    }

    [Fact]
    public void ADamagedPinsFile_StopsTheAgentAtStart_NamingTheFile()
    {
        File.WriteAllText(Path.Combine(folder, "pins.json"), "{ not json");
        var config = Read("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "pinsFile": "pins.json" }""");
        var error = Assert.Throws<InvalidDataException>(() => config.CreatePinStore(folder, notices.Add));
        Assert.Contains("pins.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheAgentLogsAFirstUseAsAWarning()
    {
        var log = new List<string>();
        var agent = new PodAgent(new PodAgentConfig { Tenant = "acme", Pod = "p1" }, folder, new Smpc.Client.SmpcClient(new HttpClient()), log.Add);
        agent.Pins.Resolve("acme", PinKinds.Pod, "p2", B);
        Assert.StartsWith("WARNING FIRST USE: pinned pod 'p2' of tenant 'acme' to " + B, Assert.Single(log), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "trustOnFirstUse": "no" }""", "$.trustOnFirstUse: expected a boolean")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "pinsFile": "" }""", "$.pinsFile")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "pins": { "p2": "sha256:abc" } }""", "$.pins.p2")]
    public void AMistakeInThePinSettings_IsNamedByItsJsonPath(string json, string expected) =>
        Assert.Contains(AgentConfigSchema.Validate(json), e => e.StartsWith(expected, StringComparison.Ordinal));
}
