using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Smpc.Agent.DataSources;
using Smpc.Agent.Psi;
using Smpc.Agent.Query;
using Smpc.Agent.SecureAggregation;
using Smpc.Agent.Training;
using Smpc.TestSupport;

namespace Smpc.Agent.Tests;

/// <summary>The pod agent's configuration schema (docs/agent-config.schema.json) matches the configuration types and the documents that show it.</summary>
public sealed partial class AgentConfigSchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "agent-config.schema.json"))).RootElement;

    [Fact]
    public void TheEmbeddedSchema_IsTheCommittedOne() =>
        Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "agent-config.schema.json")), AgentConfigSchema.Text);

    [Fact]
    public void EveryConfigurationProperty_IsInTheSchema_AndEverySchemaKey_IsAProperty()
    {
        Assert.Equal(Names(typeof(PodAgentConfig)), Keys(Schema));
        Assert.Equal(Names(typeof(PodInput)), Keys(Def("input")));
        Assert.Equal(Names(typeof(SecureAggregationPolicy)), Keys(Property(Schema, "policy")));
        Assert.Equal(Names(typeof(RecordSourceConfig)), Keys(Def("source")));
        Assert.Equal(Names(typeof(PsiPolicy)), Keys(Property(Schema, "psi")));
        Assert.Equal(Names(typeof(QueryPolicy)), Keys(Property(Schema, "query")));
        Assert.Equal(Names(typeof(TrainingPolicy)), Keys(Property(Schema, "training")));
    }

    [Fact]
    public void TheDocumentedExamples_AreValid()
    {
        // Every ```json block of the reference and the README that looks like an agent configuration (it names a pod or a policy).
        var documents = new[] { "docs/agent-config.md", "README.md" }.Select(p => File.ReadAllText(Path.Combine(RepoPaths.Root, p)));
        var examples = documents.SelectMany(d => JsonBlock().Matches(d).Select(m => m.Groups[1].Value))
            .Where(j => j.Contains("\"pod\"", StringComparison.Ordinal) || j.Contains("\"psi\"", StringComparison.Ordinal) || j.Contains("\"training\"", StringComparison.Ordinal))
            .ToList();
        Assert.True(examples.Count >= 4, $"found {examples.Count} examples");
        foreach (var example in examples)
        {
            // README fragments show parts of a configuration: complete them with the required keys.
            var complete = example.Contains("\"identityKeyFile\"", StringComparison.Ordinal)
                ? example
                : example.TrimEnd().TrimEnd('}') + ", \"tenant\": \"acme\", \"pod\": \"p1\", \"identityKeyFile\": \"p1.json\" }";
            Assert.True(AgentConfigSchema.Validate(complete).Count == 0, string.Join("\n", AgentConfigSchema.Validate(complete)) + "\n" + example);
        }
    }

    [Theory]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "inputz": {} }""", "$.inputz: unknown key")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "pollSeconds": "1" }""", "$.pollSeconds: expected a number, got the string \"1\"")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "psi": { "maxModellerSetSize": 1.5 } }""", "$.psi.maxModellerSetSize: expected an integer")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "inputs": { "x": { "value": 1, "values": [1] } } }""", "$.inputs.x: give exactly one of value, values, file")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "inputs": { "x": { "weight": 3 } } }""", "$.inputs.x: give exactly one of value, values, file")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "inputs": { "x": { "file": "x.npy", "weight": 3, "weightRowsOf": "r.csv" } } }""", "$.inputs.x: give weight or weightRowsOf, not both")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "inputs": { "x": { "file": "x.npy", "weight": 0 } } }""", "$.inputs.x.weight: 0 must be greater than 0")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "inputs": { "x y": { "value": 1 } } }""", "$.inputs['x y']: the name 'x y' does not match")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "pins": { "p2": "abc" } }""", "$.pins.p2: 'abc' does not match ^sha256:[0-9a-f]{64}$")]
    [InlineData("""{ "tenant": "acme", "pod": "p1", "identityKeyFile": "k", "query": { "tables": { "t": "age" } } }""", "$.query.tables.t: expected an array")]
    [InlineData("""{ "tenant": "acme", "pod": "P1", "identityKeyFile": "k" }""", "$.pod: 'P1' does not match")]
    [InlineData("""{ "pod": "p1", "identityKeyFile": "k" }""", "$: the key 'tenant' is missing")]
    public void AMistake_IsNamedByItsJsonPath(string json, string expected) =>
        Assert.Contains(AgentConfigSchema.Validate(json), e => e.StartsWith(expected, StringComparison.Ordinal));

    private static JsonElement Def(string name) => Schema.GetProperty("$defs").GetProperty(name);

    private static JsonElement Property(JsonElement schema, string name) => schema.GetProperty("properties").GetProperty(name);

    private static string[] Keys(JsonElement schema) => [.. schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    private static string[] Names(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite || p.SetMethod is not null)
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).Order(StringComparer.Ordinal)];

    [GeneratedRegex("```json\\n(.*?)\\n```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();
}
