using System.Diagnostics;
using Smpc.TestSupport;
using YamlDotNet.RepresentationModel;

namespace Smpc.Gateway.Tests.Operations;

/// <summary>
/// deploy/observability as the compose file wires it: pinned images, mounts that exist, Prometheus scraping the gateways
/// the compose file runs (with the operator key from a secret file) and the collector's Prometheus exporter, and a
/// configuration promtool accepts.
/// </summary>
public sealed class ObservabilityDeploymentTests
{
    private static readonly string ComposeFolder = Path.Combine(RepoPaths.Root, "deploy", "compose");

    private static YamlMappingNode Load(string path)
    {
        var yaml = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(path))) yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, params string[] keys)
    {
        foreach (var key in keys) node = ((YamlMappingNode)node)[key];
        return (YamlMappingNode)node;
    }

    private static IEnumerable<string> Strings(YamlNode node) => ((YamlSequenceNode)node).Cast<YamlScalarNode>().Select(s => s.Value!);

    [Fact]
    public void Compose_RunsPrometheusGrafanaAndTheCollector_OnPinnedImages_WithMountsThatExist()
    {
        var services = Map(Load(Path.Combine(ComposeFolder, "compose.yaml")), "services");
        foreach (var name in new[] { "prometheus", "grafana", "otel-collector" })
        {
            var service = Map(services, name);
            var image = ((YamlScalarNode)service["image"]).Value!;
            var tag = image[(image.LastIndexOf(':') + 1)..];
            Assert.True(image.Contains(':', StringComparison.Ordinal) && tag != "latest" && tag.Any(char.IsDigit), $"{name}: image {image} is not pinned to a version");
            foreach (var volume in Strings(service["volumes"]).Where(v => v.StartsWith('.')))
            {
                var source = Path.GetFullPath(Path.Combine(ComposeFolder, volume.Split(':')[0]));
                Assert.True(File.Exists(source) || Directory.Exists(source), $"{name}: mounts {volume}, whose source does not exist");
            }
        }

        Assert.Contains("smpc_operator_key", Strings(Map(services, "prometheus")["secrets"]));
        Assert.True(Map(Load(Path.Combine(ComposeFolder, "compose.yaml")), "secrets").Children.ContainsKey("smpc_operator_key"));
    }

    [Fact]
    public void Compose_PublishesPrometheusGrafanaAndJaeger_OnLoopbackOnly()
    {
        // Prometheus answers anyone who reaches it and holds the operator key; Jaeger has no login either.
        var services = Map(Load(Path.Combine(ComposeFolder, "compose.yaml")), "services");
        foreach (var name in new[] { "prometheus", "grafana", "jaeger" })
        {
            var service = Map(services, name);
            if (!service.Children.ContainsKey("ports")) continue;
            foreach (var port in Strings(service["ports"]))
                Assert.True(port.StartsWith("127.0.0.1:", StringComparison.Ordinal), $"{name} publishes {port} on every interface");
        }
    }

    [Fact]
    public void Prometheus_ScrapesEveryComposeGatewayWithTheOperatorKeyFile_AndTheCollectorsExporter()
    {
        var compose = Load(Path.Combine(ComposeFolder, "compose.yaml"));
        var gateways = Map(compose, "services").Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!).Where(n => n.StartsWith("gateway", StringComparison.Ordinal)).ToList();
        var prometheus = Load(Path.Combine(ObservabilityFiles.Directory, "prometheus", "prometheus.yml"));
        Assert.Contains("alerts.yaml", Strings(prometheus["rule_files"]));
        var jobs = ((YamlSequenceNode)prometheus["scrape_configs"]).Cast<YamlMappingNode>().ToDictionary(j => ((YamlScalarNode)j["job_name"]).Value!);

        var gatewayJob = jobs["smpc-gateway"];
        Assert.Equal("/metrics", ((YamlScalarNode)gatewayJob["metrics_path"]).Value);
        Assert.Equal("Bearer", ((YamlScalarNode)Map(gatewayJob, "authorization")["type"]).Value);
        Assert.Equal("/run/secrets/smpc_operator_key", ((YamlScalarNode)Map(gatewayJob, "authorization")["credentials_file"]).Value);
        var targets = ((YamlSequenceNode)gatewayJob["static_configs"]).Cast<YamlMappingNode>().SelectMany(c => Strings(c["targets"])).ToList();
        Assert.Equal(gateways.Select(g => g + ":8080").Order(), targets.Order());

        var collector = Load(Path.Combine(ObservabilityFiles.Directory, "otel-collector.yaml"));
        var exporterPort = ((YamlScalarNode)Map(collector, "exporters", "prometheus")["endpoint"]).Value!.Split(':')[^1];
        var collectorTargets = ((YamlSequenceNode)jobs["smpc-otel-collector"]["static_configs"]).Cast<YamlMappingNode>().SelectMany(c => Strings(c["targets"]));
        Assert.Contains($"otel-collector:{exporterPort}", collectorTargets);
        Assert.Contains("prometheus", Strings(Map(collector, "service", "pipelines", "metrics")["exporters"]));
    }

    [AlertRulesTests.PromtoolFact]
    public async Task PrometheusConfiguration_PassesPromtoolCheckConfig()
    {
        Assert.True(AlertRulesTests.Promtool is not null, "promtool is not installed, and this is a CI run: .ci/run installs Debian's prometheus package, which provides it.");
        // promtool opens the credentials file: check a copy that points at a throw-away one.
        var folder = Directory.CreateTempSubdirectory("smpc-prom-").FullName;
        try
        {
            var key = Path.Combine(folder, "operator-key");
            await File.WriteAllTextAsync(key, "smpc_op_test");
            var config = (await File.ReadAllTextAsync(Path.Combine(ObservabilityFiles.Directory, "prometheus", "prometheus.yml"))).Replace("/run/secrets/smpc_operator_key", key, StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(folder, "prometheus.yml"), config);
            File.Copy(ObservabilityFiles.Alerts, Path.Combine(folder, "alerts.yaml"));
            var start = new ProcessStartInfo(AlertRulesTests.Promtool!, ["check", "config", Path.Combine(folder, "prometheus.yml")]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, "promtool check config failed:\n" + await stdout + await stderr);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
