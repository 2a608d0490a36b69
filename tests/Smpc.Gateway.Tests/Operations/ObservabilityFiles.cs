using System.Text.Json;
using System.Text.RegularExpressions;
using Smpc.TestSupport;
using YamlDotNet.RepresentationModel;

namespace Smpc.Gateway.Tests.Operations;

/// <summary>The files under deploy/observability and the metric names their PromQL expressions use.</summary>
internal static partial class ObservabilityFiles
{
    public static string Directory => Path.Combine(RepoPaths.Root, "deploy", "observability");
    public static string Dashboard => Path.Combine(Directory, "grafana", "smpc-dashboard.json");
    public static string Alerts => Path.Combine(Directory, "prometheus", "alerts.yaml");
    public static string AlertTests => Path.Combine(Directory, "prometheus", "alerts.test.yaml");

    /// <summary>Series Prometheus makes itself (not in a scrape): <c>up</c> and the scrape's own.</summary>
    public static readonly string[] PrometheusOwnNames = ["up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"];

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan", "Inf", "NaN",
    };

    /// <summary>Every PromQL expression of the dashboard's panels (targets' <c>expr</c>).</summary>
    public static IEnumerable<string> DashboardExpressions()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Dashboard));
        return Panels(document.RootElement).SelectMany(p => p.TryGetProperty("targets", out var targets) ? targets.EnumerateArray() : [])
            .Where(t => t.TryGetProperty("expr", out _)).Select(t => t.GetProperty("expr").GetString()!).ToList();
    }

    /// <summary>Every panel, rows' nested panels included.</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
    {
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out var nested))
                foreach (var inner in nested.EnumerateArray()) yield return inner;
        }
    }

    /// <summary>The alert and recording rules' expressions (the rule file, not its tests).</summary>
    public static IEnumerable<(string? Alert, string? Record, string Expr)> Rules()
    {
        var yaml = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Alerts))) yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        foreach (var group in ((YamlSequenceNode)root["groups"]).Cast<YamlMappingNode>())
        foreach (var rule in ((YamlSequenceNode)group["rules"]).Cast<YamlMappingNode>())
        {
            string? Get(string key) => rule.Children.TryGetValue(key, out var v) ? ((YamlScalarNode)v).Value : null;
            yield return (Get("alert"), Get("record"), Get("expr")!);
        }
    }

    public static IEnumerable<string> DashboardMetricNames() => DashboardExpressions().SelectMany(MetricNames).Distinct();

    public static IEnumerable<string> AlertMetricNames() => Rules().SelectMany(r => MetricNames(r.Expr)).Distinct();

    /// <summary>Names the rule file defines itself (recording rules).</summary>
    public static IEnumerable<string> RecordedNames() => Rules().Where(r => r.Record is not null).Select(r => r.Record!);

    /// <summary>
    /// The metric names a PromQL expression selects: identifiers that are not functions (followed by '('), keywords,
    /// label names (inside braces or by/without/on/ignoring lists), durations or Grafana variables.
    /// </summary>
    public static IEnumerable<string> MetricNames(string expr)
    {
        var text = Strings().Replace(expr, "\"\"");
        text = Braces().Replace(text, " ");
        text = Brackets().Replace(text, " ");
        text = Grouping().Replace(text, " ");
        text = Variables().Replace(text, " ");
        foreach (Match m in Identifier().Matches(text))
        {
            var name = m.Groups[1].Value;
            var rest = text[(m.Index + m.Length)..].TrimStart();
            if (rest.StartsWith('(') || Keywords.Contains(name)) continue;
            yield return name;
        }
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'")]
    private static partial Regex Strings();

    [GeneratedRegex("\\{[^}]*\\}")]
    private static partial Regex Braces();

    [GeneratedRegex("\\[[^\\]]*\\]")]
    private static partial Regex Brackets();

    [GeneratedRegex("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)")]
    private static partial Regex Grouping();

    [GeneratedRegex("\\$\\{?[A-Za-z_][A-Za-z0-9_]*\\}?")]
    private static partial Regex Variables();

    [GeneratedRegex("(?<![A-Za-z0-9_:.])([A-Za-z_:][A-Za-z0-9_:]*)(?![A-Za-z0-9_:.])")]
    private static partial Regex Identifier();
}
