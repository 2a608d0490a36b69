using System.Text.RegularExpressions;

namespace Smpc.Gateway.Tests.Deployment;

/// <summary>The operator's deployment artifacts: deploy/compose (Docker Compose) and deploy/k8s (Kubernetes with kustomize).</summary>
internal sealed partial class DeploymentManifests
{
    public const string ComposeFolder = "deploy/compose";

    /// <summary>Prometheus, Grafana and OpenTelemetry Collector configuration, mounted by the compose file.</summary>
    public const string ObservabilityFolder = "deploy/observability";
    public const string KubernetesFolder = "deploy/k8s";
    private static readonly string[] WorkloadKinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"];

    private DeploymentManifests(string root)
    {
        Root = root;
        AllYaml = new[] { ComposeFolder, KubernetesFolder, ObservabilityFolder }
            .SelectMany(f => Directory.EnumerateFiles(Path.Combine(root, f), "*.*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => YamlFile.Load(root, f))
            .ToList();

        Compose = AllYaml.Single(f => f.RelativePath == ComposeFolder + "/compose.yaml");
        EnvExample = ReadEnvFile(Path.Combine(root, ComposeFolder, ".env.example"));
        Kustomization = AllYaml.Single(f => f.RelativePath == KubernetesFolder + "/kustomization.yaml");
        Resources = AllYaml
            .Where(f => f.RelativePath.StartsWith(KubernetesFolder + "/", StringComparison.Ordinal) && f != Kustomization)
            .SelectMany(f => f.Documents.Select(d => new K8sResource(f.RelativePath, d.Text("kind") ?? "", d.Text("metadata", "name") ?? "", d)))
            .ToList();
        Containers = Resources.Where(r => WorkloadKinds.Contains(r.Kind)).SelectMany(ContainersOf).ToList();
    }

    public string Root { get; }

    /// <summary>Every YAML file under deploy/compose and deploy/k8s.</summary>
    public IReadOnlyList<YamlFile> AllYaml { get; }

    public YamlFile Compose { get; }

    /// <summary>The variables deploy/compose/.env.example defines (the template of the operator's .env).</summary>
    public IReadOnlyDictionary<string, string> EnvExample { get; }

    public YamlFile Kustomization { get; }

    /// <summary>Every Kubernetes object in deploy/k8s (kustomization.yaml aside).</summary>
    public IReadOnlyList<K8sResource> Resources { get; }

    /// <summary>Every container (init containers too) of every workload's pod template.</summary>
    public IReadOnlyList<K8sContainer> Containers { get; }

    /// <summary>The Compose services by name.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, object?>> ComposeServices =>
        Compose.Documents[0].Map("services")!.ToDictionary(s => s.Key, s => s.Value as Dictionary<string, object?> ?? []);

    public static DeploymentManifests Load(string root) => new(root);

    /// <summary>A Compose service's environment (mapping or <c>KEY=value</c> list form), values as written (not interpolated).</summary>
    public static IReadOnlyDictionary<string, string?> ComposeEnvironment(Dictionary<string, object?> service)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        switch (service.At("environment"))
        {
            case Dictionary<string, object?> map:
                foreach (var (key, value) in map) environment[key] = value as string;
                break;
            case List<object?> list:
                foreach (var item in list.OfType<string>())
                {
                    var i = item.IndexOf('=', StringComparison.Ordinal);
                    environment[i < 0 ? item : item[..i]] = i < 0 ? null : item[(i + 1)..];
                }

                break;
        }

        return environment;
    }

    /// <summary>
    /// Interpolates <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR-default}</c>, <c>${VAR:?error}</c>, <c>$VAR</c> and <c>$$</c> the
    /// way Compose does, with the variables of .env.example; names it could not resolve are added to <paramref name="missing"/>.
    /// </summary>
    public string Interpolate(string value, ICollection<string>? missing = null) => Interpolation().Replace(value, m =>
    {
        if (m.Value == "$$") return "$";
        var name = m.Groups["name"].Success ? m.Groups["name"].Value : m.Groups["bare"].Value;
        var op = m.Groups["op"].Value;
        var set = EnvExample.TryGetValue(name, out var v);
        switch (op)
        {
            case ":-" when !set || v!.Length == 0:
            case "-" when !set:
                return m.Groups["arg"].Value;
            case ":+":
            case "+":
                return set && (op == "+" || v!.Length > 0) ? m.Groups["arg"].Value : "";
            default:
                if (!set) missing?.Add(name);
                return v ?? "";
        }
    });

    /// <summary>The variables a value interpolates, with their operator (<c>:-</c>, <c>:?</c>, … or empty).</summary>
    public static IEnumerable<(string Name, string Operator)> Variables(string value) =>
        Interpolation().Matches(value).Where(m => m.Value != "$$")
            .Select(m => (m.Groups["name"].Success ? m.Groups["name"].Value : m.Groups["bare"].Value, m.Groups["op"].Value));

    private IEnumerable<K8sContainer> ContainersOf(K8sResource workload)
    {
        var template = workload.Node.At("spec", "template");
        var spec = template.At("spec");
        foreach (var container in spec.Maps("initContainers").Concat(spec.Maps("containers")))
        {
            var env = new Dictionary<string, K8sEnvVar>(StringComparer.Ordinal);
            foreach (var source in container.Maps("envFrom"))
            {
                var (kind, reference) = source.Map("configMapRef") is { } cm ? ("ConfigMap", cm) : ("Secret", source.Map("secretRef"));
                var name = reference.Text("name");
                var target = Resources.FirstOrDefault(r => r.Kind == kind && r.Name == name);
                var prefix = source.Text("prefix") ?? "";
                if (target is null) continue; // reported by the reference test
                foreach (var data in new[] { "data", "stringData" }.Select(d => target.Node.Map(d)).OfType<Dictionary<string, object?>>())
                    foreach (var (key, value) in data)
                        env[prefix + key] = new(prefix + key, value as string, null, $"{kind} {name} ({target.File})");
            }

            foreach (var item in container.Maps("env"))
            {
                var name = item.Text("name") ?? "";
                env[name] = new(name, item.Text("value"), item.Map("valueFrom"), workload.File);
            }

            yield return new K8sContainer(workload, template.Map("metadata", "labels") ?? [], container, container.Text("name") ?? "", container.Text("image") ?? "", env);
        }
    }

    private static Dictionary<string, string> ReadEnvFile(string path) =>
        File.ReadAllLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)].Trim(), l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim(), StringComparer.Ordinal);

    [GeneratedRegex(@"\$\$|\$\{(?<name>\w+)(?:(?<op>:?[-?+])(?<arg>[^}]*))?\}|\$(?<bare>[A-Za-z_]\w*)")]
    private static partial Regex Interpolation();
}

/// <summary>One Kubernetes object.</summary>
internal sealed record K8sResource(string File, string Kind, string Name, object? Node)
{
    public override string ToString() => $"{Kind}/{Name}";
}

/// <summary>A container of a workload, with its effective environment (envFrom first, env overriding).</summary>
internal sealed record K8sContainer(
    K8sResource Workload,
    Dictionary<string, object?> PodLabels,
    Dictionary<string, object?> Node,
    string Name,
    string Image,
    IReadOnlyDictionary<string, K8sEnvVar> Environment)
{
    public override string ToString() => $"container '{Name}' of {Workload}";
}

/// <summary>An environment variable of a container: a literal value or a <c>valueFrom</c>, and where it was set.</summary>
internal sealed record K8sEnvVar(string Name, string? Value, Dictionary<string, object?>? ValueFrom, string Origin);
