using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Smpc.Silo.Hosting;
using Smpc.TestSupport;

namespace Smpc.Gateway.Tests.Deployment;

/// <summary>
/// The operator's artifacts (deploy/compose, deploy/k8s, the csproj container settings) checked against the code: every
/// configuration key binds to an option the service reads, probes hit routes the service maps, ports line up with what
/// the processes listen on, images are the ones the projects publish, and no secret is written into a manifest.
/// </summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed partial class DeploymentManifestTests(EmbeddedService service)
{
    private static readonly string Root = RepoPaths.Root;
    private static readonly Lazy<DeploymentManifests> LazyManifests = new(() => DeploymentManifests.Load(Root));
    private static readonly ContainerImage SiloImage = ContainerImage.Silo(Root);
    private static readonly ContainerImage GatewayImage = ContainerImage.Gateway(Root);
    private static readonly string[] ProbeKinds = ["livenessProbe", "readinessProbe", "startupProbe"];

    /// <summary>The command the silo executable dispatches to the schema migration.</summary>
    private const string MigrateVerb = SmpcApp.MigrateCommand;

    private static DeploymentManifests Manifests => LazyManifests.Value;

    [Fact]
    public void EveryYamlFile_Parses_AndEveryKubernetesObjectIsInTheKustomization()
    {
        var problems = new List<string>();
        var files = new[] { DeploymentManifests.ComposeFolder, DeploymentManifests.KubernetesFolder }
            .SelectMany(f => Directory.EnumerateFiles(Path.Combine(Root, f), "*.*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .ToList();
        Assert.True(files.Count >= 3, "deploy/compose and deploy/k8s hold no YAML files.");
        foreach (var file in files)
        {
            try
            {
                if (YamlFile.Load(Root, file).Documents.Count == 0) problems.Add($"{Relative(file)}: no YAML document.");
            }
            catch (InvalidDataException ex)
            {
                problems.Add(ex.Message);
            }
        }

        AssertNone(problems);

        foreach (var resource in Manifests.Resources)
        {
            if (resource.Node.Text("apiVersion") is null || resource.Kind.Length == 0 || resource.Name.Length == 0)
                problems.Add($"{resource.File}: a document lacks apiVersion, kind or metadata.name.");
        }

        foreach (var duplicate in Manifests.Resources.GroupBy(r => (r.Kind, r.Name)).Where(g => g.Count() > 1))
            problems.Add($"{duplicate.First().File}: {duplicate.Key.Kind}/{duplicate.Key.Name} is defined {duplicate.Count()} times.");

        var listed = Manifests.Kustomization.Documents[0].Strings("resources").ToHashSet(StringComparer.Ordinal);
        var k8sFiles = Manifests.Resources.Select(r => r.File[(DeploymentManifests.KubernetesFolder.Length + 1)..]).ToHashSet(StringComparer.Ordinal);
        foreach (var missing in k8sFiles.Except(listed)) problems.Add($"{DeploymentManifests.KubernetesFolder}/kustomization.yaml: resources does not list {missing}.");
        foreach (var absent in listed.Except(k8sFiles)) problems.Add($"{DeploymentManifests.KubernetesFolder}/kustomization.yaml: resources lists {absent}, which holds no Kubernetes object.");
        AssertNone(problems);
    }

    [Fact]
    public async Task EnvironmentKeys_BindToPropertiesTheServiceReads()
    {
        var surface = await ConfigurationSurface.DiscoverAsync();
        // The recording must see what the processes read, or every key below would be judged against nothing; and a key
        // nothing reads must not resolve.
        Assert.Contains(surface.Sections, s => s.Type == typeof(Smpc.ApiGateway.Hosting.RestGatewayOptions) && s.Path == Smpc.ApiGateway.Hosting.RestGatewayOptions.Section);
        Assert.Contains(surface.Sections, s => s.Type == typeof(Smpc.ApiGateway.Hosting.RateLimitOptions) && s.Path == Smpc.ApiGateway.Hosting.RateLimitOptions.Section);
        Assert.Equal("silo", surface.Resolve($"{SmpcHostOptions.Section}:{nameof(SmpcHostOptions.SiloPort)}")?.Process);
        Assert.NotNull(surface.Resolve("ConnectionStrings:Smpc"));
        Assert.NotNull(surface.Resolve("Smpc:Gateway:Cors:Origins:0"));
        Assert.Null(surface.Resolve("Smpc:NoSuchSetting"));
        Assert.Null(surface.Resolve("Smpc:Gateway:RateLimit:NoSuchRate"));
        Assert.NotNull(await surface.TryBindAsync(surface.Resolve("Smpc:SiloPort")!, "not-a-port"));

        var uses = ServiceKeyUses().ToList();
        Assert.Contains(uses, u => u.File.StartsWith(DeploymentManifests.ComposeFolder, StringComparison.Ordinal));
        Assert.Contains(uses, u => u.File.StartsWith(DeploymentManifests.KubernetesFolder, StringComparison.Ordinal));

        var problems = new List<string>();
        foreach (var use in uses)
        {
            var key = ConfigurationKey(use.Name);
            if (surface.Resolve(key) is not { } binding)
            {
                problems.Add($"{use.File}: {use.Where} sets {use.Name}, but neither the silo nor the gateway reads '{key}' " +
                             $"(bound sections: {string.Join(", ", surface.Sections.Select(s => $"{s.Path} → {s.Type.Name}"))}).");
            }
            else if (use.Value is { } value && await surface.TryBindAsync(binding, value) is { } error)
            {
                problems.Add($"{use.File}: {use.Where} sets {use.Name}={value}, which does not bind to {(Nullable.GetUnderlyingType(binding.LeafType) ?? binding.LeafType).Name}: {error}");
            }
        }

        AssertNone(problems);
    }

    [Fact]
    public void EnvironmentKeys_AreDocumentedInTheOperationsGuide()
    {
        var guide = File.ReadAllText(Path.Combine(Root, "docs", "operations.md"));
        var problems = ServiceKeyUses()
            .Select(u => (u.File, u.Name, Key: DocumentedKey(ConfigurationKey(u.Name))))
            .Where(u => !Regex.IsMatch(guide, $@"(?<![\w:]){Regex.Escape(u.Key)}(?![\w:])", RegexOptions.IgnoreCase)
                        && !Regex.IsMatch(guide, $@"(?<!\w){Regex.Escape(u.Key.Replace(":", "__", StringComparison.Ordinal))}(?!\w)", RegexOptions.IgnoreCase))
            .Select(u => $"{u.File}: {u.Name} is not documented in docs/operations.md (as `{u.Key}`).")
            .Distinct()
            .ToList();
        AssertNone(problems);
    }

    [Fact]
    public void KubernetesPorts_ProbesAndServicesUseDeclaredContainerPorts()
    {
        var problems = new List<string>();
        foreach (var container in Manifests.Containers)
        {
            var ports = ContainerPorts(container);
            var probes = ProbeKinds.Select(k => (Kind: k, Probe: container.Node.Map(k))).Where(p => p.Probe is not null).ToList();
            if (ports.Count == 0 && probes.Count == 0) continue; // a one-shot container (the migration)

            var urls = container.Environment.TryGetValue("ASPNETCORE_URLS", out var set) ? set.Value : ImageOf(container.Image)?.Environment.GetValueOrDefault("ASPNETCORE_URLS");
            if (HttpPort(urls) is not { } http)
            {
                problems.Add($"{container.Workload.File}: {container} has no ASPNETCORE_URLS (in its env, ConfigMap or image) to tell its HTTP port.");
                continue;
            }

            if (!ports.ContainsValue(http)) problems.Add($"{container.Workload.File}: {container} listens on {http} (ASPNETCORE_URLS={urls}) but declares no containerPort {http}.");
            foreach (var (kind, probe) in probes)
            {
                var port = probe.Text("httpGet", "port") ?? probe.Text("tcpSocket", "port") ?? probe.Text("grpc", "port");
                var resolved = ResolvePort(port, ports);
                if (resolved is null) problems.Add($"{container.Workload.File}: {container} {kind} port '{port}' is not a declared containerPort ({Describe(ports)}).");
                else if (probe.At("httpGet") is not null && resolved != http) problems.Add($"{container.Workload.File}: {container} {kind} probes port {resolved}, but HTTP listens on {http}.");
            }

            if (IsSilo(container))
            {
                var options = BindSiloOptions(container.Environment.Values.Select(e => KeyValuePair.Create(e.Name, e.Value)));
                foreach (var (name, port) in new[] { (nameof(SmpcHostOptions.SiloPort), options.SiloPort), (nameof(SmpcHostOptions.GatewayPort), options.GatewayPort) })
                {
                    if (!ports.ContainsValue(port)) problems.Add($"{container.Workload.File}: {container} uses Smpc__{name}={port} but declares no containerPort {port}.");
                }
            }
        }

        foreach (var svc in Manifests.Resources.Where(r => r.Kind == "Service"))
        {
            var selected = Selected(svc.Node.Map("spec", "selector")).ToList();
            if (selected.Count == 0)
            {
                problems.Add($"{svc.File}: Service {svc.Name} selects no pod of any workload.");
                continue;
            }

            foreach (var port in svc.Node.Maps("spec", "ports"))
            {
                var target = port.Text("targetPort") ?? port.Text("port");
                if (!selected.Any(c => ResolvePort(target, ContainerPorts(c)) is not null))
                    problems.Add($"{svc.File}: Service {svc.Name} port '{port.Text("name")}' targets '{target}', which no selected container ({string.Join(", ", selected)}) declares.");
            }
        }

        foreach (var pdb in Manifests.Resources.Where(r => r.Kind == "PodDisruptionBudget"))
        {
            if (!Selected(pdb.Node.Map("spec", "selector", "matchLabels")).Any()) problems.Add($"{pdb.File}: PodDisruptionBudget {pdb.Name} selects no pod of any workload.");
        }

        AssertNone(problems);
    }

    [Fact]
    public void ComposePorts_HealthchecksAndPublishedPortsUseTheHttpPort()
    {
        var problems = new List<string>();
        var file = Manifests.Compose.RelativePath;
        foreach (var (name, svc) in AppServices())
        {
            var environment = DeploymentManifests.ComposeEnvironment(svc);
            var urls = environment.GetValueOrDefault("ASPNETCORE_URLS") is { } u ? Manifests.Interpolate(u) : ImageOf(Manifests.Interpolate(svc.Text("image") ?? ""))?.Environment.GetValueOrDefault("ASPNETCORE_URLS");
            if (HttpPort(urls) is not { } http)
            {
                problems.Add($"{file}: service {name} has no ASPNETCORE_URLS (in its environment or image) to tell its HTTP port.");
                continue;
            }

            foreach (var published in svc.Items("ports"))
            {
                var target = published is Dictionary<string, object?> longForm ? longForm.Text("target") : ContainerSide(Manifests.Interpolate(published as string ?? ""));
                if (target != http.ToString(CultureInfo.InvariantCulture)) problems.Add($"{file}: service {name} publishes container port {target}, but it listens on {http} (ASPNETCORE_URLS={urls}).");
            }

            if (IsMigration(svc)) continue;
            if (HealthcheckCommand(svc) is not { } command || HttpCheck(string.Join(' ', command)) is not { } check)
            {
                problems.Add($"{file}: service {name} has no HTTP healthcheck.");
                continue;
            }

            if (check.Port != http) problems.Add($"{file}: service {name} healthcheck requests port {check.Port}, but it listens on {http} (ASPNETCORE_URLS={urls}).");
            if (check.Host is not ("127.0.0.1" or "localhost")) problems.Add($"{file}: service {name} healthcheck requests {check.Host}, not the container itself.");
        }

        AssertNone(problems);
    }

    [Fact]
    public async Task ProbePaths_AreRoutesTheServiceMaps_AndAnswer200()
    {
        var openApi = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Root, "ApiGateway", "openapi", "v1.json")))!["paths"]!.AsObject();
        string PathOf(string operationId) => openApi.Single(p => p.Value!.AsObject().Any(o => (string?)o.Value!["operationId"] == operationId)).Key;
        var live = PathOf("Live");
        var ready = PathOf("Ready");

        var probes = new List<(string Where, string Kind, string? Path)>();
        foreach (var container in Manifests.Containers)
        {
            foreach (var kind in ProbeKinds)
            {
                if (container.Node.Map(kind) is { } probe) probes.Add(($"{container.Workload.File}: {container}", kind, probe.Text("httpGet", "path")));
            }

            if (ContainerPorts(container).Count > 0 && (container.Node.Map("livenessProbe") is null || container.Node.Map("readinessProbe") is null))
                probes.Add(($"{container.Workload.File}: {container}", "livenessProbe and readinessProbe", null));
        }

        foreach (var (name, svc) in AppServices().Where(s => !IsMigration(s.Service)))
            probes.Add(($"{Manifests.Compose.RelativePath}: service {name}", "healthcheck", HealthcheckCommand(svc) is { } c ? HttpCheck(string.Join(' ', c))?.Path : null));

        Assert.Contains(probes, p => p.Kind == "healthcheck");
        Assert.Contains(probes, p => p.Kind == "livenessProbe");
        var problems = new List<string>();
        foreach (var (where, kind, path) in probes)
        {
            if (path is null) problems.Add($"{where}: {kind} missing or not an HTTP GET.");
            else if (!openApi.ContainsKey(path)) problems.Add($"{where}: {kind} path {path} is not a route of ApiGateway/openapi/v1.json.");
            else if (kind == "livenessProbe" && path != live) problems.Add($"{where}: livenessProbe must be {live} (operation Live), not {path}: a liveness probe must not depend on the cluster.");
            else if (kind == "readinessProbe" && path != ready) problems.Add($"{where}: readinessProbe must be {ready} (operation Ready), not {path}.");
        }

        AssertNone(problems);
        foreach (var path in probes.Select(p => p.Path!).Distinct())
        {
            using var response = await service.Http.GetAsync(path.TrimStart('/'));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} (probed by {string.Join("; ", probes.Where(p => p.Path == path).Select(p => p.Where))}) answered {(int)response.StatusCode} from the running service.");
        }
    }

    [Fact]
    public async Task ComposeHealthchecks_PassAgainstTheRunningService_AndFailOnAMissingRoute()
    {
        if (!OperatingSystem.IsLinux()) return; // the commands run inside Linux containers
        var port = service.Http.BaseAddress!.Port;
        var commands = AppServices().Where(s => !IsMigration(s.Service))
            .Select(s => (s.Name, Command: HealthcheckCommand(s.Service)))
            .Where(s => s.Command is not null)
            .DistinctBy(s => string.Join('\u0000', s.Command!))
            .ToList();
        Assert.NotEmpty(commands);

        foreach (var (name, command) in commands)
        {
            var parsed = HttpCheck(string.Join(' ', command!));
            Assert.True(parsed is not null, $"{Manifests.Compose.RelativePath}: service {name} healthcheck is not an HTTP request.");
            var check = parsed.Value;
            var here = command!.Select(a => AtPort(a, port)).ToList();
            var (exit, output) = await RunAsync(here);
            Assert.True(exit == 0, $"{Manifests.Compose.RelativePath}: service {name} healthcheck failed (exit {exit}) against the running service on port {port}: {output}");

            var missing = here.Select(a => a.Replace(check.Path, "/health/no-such-route", StringComparison.Ordinal)).ToList();
            var (missingExit, _) = await RunAsync(missing);
            Assert.True(missingExit != 0, $"{Manifests.Compose.RelativePath}: service {name} healthcheck passes even for a route that answers 404: it does not check the status.");
        }
    }

    [Fact]
    public void Silos_AdvertiseTheirOwnAddress_AndRunInClusterModeWithoutTheRestApi()
    {
        var problems = new List<string>();
        var k8sSilos = Manifests.Containers.Where(IsSilo).ToList();
        Assert.True(k8sSilos.Count > 0, $"{DeploymentManifests.KubernetesFolder}: no workload runs the {SiloImage.Repository} image as a silo.");
        foreach (var silo in k8sSilos)
        {
            var advertised = silo.Environment.GetValueOrDefault("Smpc__AdvertisedAddress");
            if (advertised?.ValueFrom.Text("fieldRef", "fieldPath") != "status.podIP")
                problems.Add($"{silo.Workload.File}: {silo} must set Smpc__AdvertisedAddress from valueFrom.fieldRef.fieldPath: status.podIP (every pod advertises its own IP).");
            CheckSiloMode(silo.Workload.File, silo.ToString(), BindSiloOptions(silo.Environment.Values.Select(e => KeyValuePair.Create(e.Name, e.Value))), problems);
            if (int.Parse(silo.Workload.Node.Text("spec", "replicas") ?? "1", CultureInfo.InvariantCulture) < 2)
                problems.Add($"{silo.Workload.File}: {silo.Workload} runs fewer than 2 silos.");
        }

        var file = Manifests.Compose.RelativePath;
        var networks = Manifests.Compose.Documents[0].Map("networks") ?? [];
        var composeSilos = AppServices().Where(s => IsSiloService(s.Service)).ToList();
        if (composeSilos.Count < 2) problems.Add($"{file}: fewer than 2 silo services.");
        var addresses = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, svc) in composeSilos)
        {
            var environment = DeploymentManifests.ComposeEnvironment(svc).ToDictionary(e => e.Key, e => e.Value is null ? null : Manifests.Interpolate(e.Value));
            CheckSiloMode(file, $"service {name}", BindSiloOptions(environment), problems);
            var advertised = environment.GetValueOrDefault("Smpc__AdvertisedAddress");
            var attached = (svc.At("networks") as Dictionary<string, object?> ?? [])
                .Select(n => (Network: n.Key, Address: n.Value.Text("ipv4_address")))
                .Where(n => n.Address is not null)
                .ToList();
            var match = attached.FirstOrDefault(n => n.Address == advertised);
            if (advertised is null || match.Network is null)
            {
                problems.Add($"{file}: service {name} advertises '{advertised}' (Smpc__AdvertisedAddress), which is not its ipv4_address on any network ({string.Join(", ", attached.Select(a => $"{a.Network}={a.Address}"))}).");
                continue;
            }

            var subnets = networks.Map(match.Network).Maps("ipam", "config").Select(c => c.Text("subnet")).OfType<string>().Select(s => IPNetwork.Parse(s)).ToList();
            if (!subnets.Any(s => s.Contains(IPAddress.Parse(advertised))))
                problems.Add($"{file}: service {name} address {advertised} is outside the subnet of network {match.Network} ({string.Join(", ", subnets)}).");
            if (addresses.TryGetValue(advertised, out var other)) problems.Add($"{file}: services {other} and {name} both advertise {advertised}.");
            addresses[advertised] = name;
        }

        AssertNone(problems);
    }

    [Fact]
    public void Migration_RunsTheSiloMigrateCommand_BeforeTheSilosStart()
    {
        var command = MigrateVerb;
        Assert.True(SiloImage.AppCommandInstruction is null or "Entrypoint",
            $"{SiloImage.ProjectFile}: ContainerAppCommandInstruction is {SiloImage.AppCommandInstruction}; manifests pass '{command}' as arguments after the image's entrypoint.");

        var problems = new List<string>();
        var jobs = Manifests.Containers.Where(c => c.Workload.Kind == "Job" && c.Node.Strings("args").FirstOrDefault() == command).ToList();
        if (jobs.Count == 0) problems.Add($"{DeploymentManifests.KubernetesFolder}: no Job runs args: [\"{command}\"].");
        foreach (var job in jobs)
        {
            if (Repository(job.Image) != SiloImage.Repository) problems.Add($"{job.Workload.File}: {job} runs '{command}' on image {job.Image}, not {SiloImage.Repository}.");
            if (job.Node.At("command") is not null) problems.Add($"{job.Workload.File}: {job} sets command, replacing the image's entrypoint; pass '{command}' in args.");
            if (job.Workload.Node.Text("spec", "template", "spec", "restartPolicy") is not ("OnFailure" or "Never"))
                problems.Add($"{job.Workload.File}: {job.Workload} needs restartPolicy OnFailure or Never.");
        }

        var file = Manifests.Compose.RelativePath;
        var services = Manifests.ComposeServices;
        var migrations = AppServices().Where(s => s.Service.Strings("command").FirstOrDefault() == command).ToList();
        var postgres = services.Where(s => Repository(Manifests.Interpolate(s.Value.Text("image") ?? "")) == "postgres").Select(s => s.Key).FirstOrDefault();
        if (migrations.Count != 1) problems.Add($"{file}: expected one service with command [\"{command}\"], found {migrations.Count}.");
        if (postgres is null) problems.Add($"{file}: no postgres service.");
        foreach (var (name, svc) in migrations)
        {
            if (Repository(Manifests.Interpolate(svc.Text("image") ?? "")) != SiloImage.Repository) problems.Add($"{file}: service {name} runs '{command}' on {svc.Text("image")}, not {SiloImage.Repository}.");
            if (svc.Text("restart") is not (null or "no")) problems.Add($"{file}: service {name} is one-shot: restart must be \"no\".");
            if (postgres is not null && svc.Text("depends_on", postgres, "condition") != "service_healthy")
                problems.Add($"{file}: service {name} must depend on {postgres} with condition service_healthy.");
        }

        foreach (var (name, svc) in AppServices().Where(s => IsSiloService(s.Service)))
        {
            foreach (var (migration, _) in migrations)
            {
                if (svc.Text("depends_on", migration, "condition") != "service_completed_successfully")
                    problems.Add($"{file}: silo service {name} must depend on {migration} with condition service_completed_successfully.");
            }
        }

        AssertNone(problems);
    }

    [Fact]
    public void Images_AreTheProjectsContainerImages()
    {
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", BaseImage(SiloImage.ProjectFile));
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", BaseImage(GatewayImage.ProjectFile));
        var problems = new List<string>();
        foreach (var image in new[] { SiloImage, GatewayImage })
        {
            if (image.User is null or "root" or "0") problems.Add($"{image.ProjectFile}: ContainerUser must name a non-root user.");
            if (!image.Ports.Contains(HttpPort(image.Environment.GetValueOrDefault("ASPNETCORE_URLS")) ?? -1))
                problems.Add($"{image.ProjectFile}: no ContainerPort for the ASPNETCORE_URLS port ({image.Environment.GetValueOrDefault("ASPNETCORE_URLS")}).");
        }

        var defaults = new SmpcHostOptions();
        foreach (var port in new[] { defaults.SiloPort, defaults.GatewayPort })
        {
            if (!SiloImage.Ports.Contains(port)) problems.Add($"{SiloImage.ProjectFile}: no ContainerPort {port} (SmpcHostOptions default).");
        }

        foreach (var container in Manifests.Containers.Where(c => c.Environment.ContainsKey("ConnectionStrings__Smpc")))
        {
            // The role comes from what the container does, not from its image: the migration, a silo (it advertises an address) or a gateway.
            var expected = IsMigrationContainer(container) || container.Environment.ContainsKey("Smpc__AdvertisedAddress") ? SiloImage : GatewayImage;
            if (Repository(container.Image) != expected.Repository) problems.Add($"{container.Workload.File}: {container} runs image {container.Image}; {expected.ProjectFile} publishes {expected.Repository}.");
            var pod = container.Workload.Node.Map("spec", "template", "spec", "securityContext");
            var user = container.Node.Text("securityContext", "runAsUser") ?? pod.Text("runAsUser");
            if (pod.Text("runAsNonRoot") == "true" && user is null && !int.TryParse(expected.User, out _))
                problems.Add($"{container.Workload.File}: {container} sets runAsNonRoot, but the image's user '{expected.User}' is not numeric: set runAsUser so the kubelet can verify it.");
        }

        var kustomized = Manifests.Kustomization.Documents[0].Maps("images").Select(i => i.Text("name")).ToHashSet(StringComparer.Ordinal);
        foreach (var repository in Manifests.Containers.Select(c => Repository(c.Image)).Distinct().Where(r => r is not null && r.StartsWith("smpc", StringComparison.Ordinal)))
        {
            if (repository != SiloImage.Repository && repository != GatewayImage.Repository) problems.Add($"{DeploymentManifests.KubernetesFolder}: image {repository} is published by no project.");
            if (!kustomized.Contains(repository)) problems.Add($"{DeploymentManifests.KubernetesFolder}/kustomization.yaml: images does not list {repository} (so its registry and tag cannot be set).");
        }

        // Every process of ours: configured with the connection string, or running an smpc-* image.
        foreach (var (name, svc) in Manifests.ComposeServices.Where(s => DeploymentManifests.ComposeEnvironment(s.Value).ContainsKey("ConnectionStrings__Smpc")
                                                                         || Repository(Manifests.Interpolate(s.Value.Text("image") ?? ""))?.StartsWith("smpc", StringComparison.Ordinal) == true))
        {
            var environment = DeploymentManifests.ComposeEnvironment(svc);
            var expected = IsMigration(svc) || environment.ContainsKey("Smpc__AdvertisedAddress") ? SiloImage : GatewayImage;
            if (Repository(Manifests.Interpolate(svc.Text("image") ?? "")) != expected.Repository)
                problems.Add($"{Manifests.Compose.RelativePath}: service {name} runs {svc.Text("image")}; {expected.ProjectFile} publishes {expected.Repository}.");
            if (!environment.ContainsKey("ConnectionStrings__Smpc"))
                problems.Add($"{Manifests.Compose.RelativePath}: service {name} runs {svc.Text("image")} without ConnectionStrings__Smpc.");
        }

        if (!AppServices().Any(s => Repository(Manifests.Interpolate(s.Service.Text("image") ?? "")) == GatewayImage.Repository))
            problems.Add($"{Manifests.Compose.RelativePath}: no service runs {GatewayImage.Repository}.");
        AssertNone(problems);
    }

    [Fact]
    public void Secrets_AreReferencedNotWrittenIntoTheManifests()
    {
        var problems = new List<string>();
        var secrets = Manifests.Resources.Where(r => r.Kind == "Secret").ToList();
        foreach (var container in Manifests.Containers)
        {
            foreach (var variable in container.Environment.Values.Where(v => IsSecret(v.Name)))
            {
                if (variable.ValueFrom?.Map("secretKeyRef") is not { } reference)
                    problems.Add($"{variable.Origin}: {container} takes {variable.Name} from a literal or a ConfigMap; use valueFrom.secretKeyRef.");
                else if (!secrets.Any(s => s.Name == reference.Text("name") && (s.Node.Map("stringData")?.ContainsKey(reference.Text("key") ?? "") == true || s.Node.Map("data")?.ContainsKey(reference.Text("key") ?? "") == true)))
                    problems.Add($"{container.Workload.File}: {container} {variable.Name} refers to Secret {reference.Text("name")} key {reference.Text("key")}, which is not in {DeploymentManifests.KubernetesFolder}.");
            }

            foreach (var reference in container.Node.Maps("envFrom").Select(e => (Kind: e.Map("configMapRef") is null ? "Secret" : "ConfigMap", Name: (e.Map("configMapRef") ?? e.Map("secretRef")).Text("name"))))
            {
                if (!Manifests.Resources.Any(r => r.Kind == reference.Kind && r.Name == reference.Name))
                    problems.Add($"{container.Workload.File}: {container} envFrom {reference.Kind} {reference.Name}, which is not in {DeploymentManifests.KubernetesFolder}.");
            }
        }

        foreach (var map in Manifests.Resources.Where(r => r.Kind == "ConfigMap"))
            foreach (var key in (map.Node.Map("data") ?? []).Keys.Where(IsSecret))
                problems.Add($"{map.File}: ConfigMap {map.Name} holds {key}; secrets belong in a Secret.");

        foreach (var secret in secrets)
        {
            var values = (secret.Node.Map("stringData") ?? []).Select(kv => (kv.Key, Value: kv.Value as string ?? ""))
                .Concat((secret.Node.Map("data") ?? []).Select(kv => (kv.Key, Value: Encoding.UTF8.GetString(Convert.FromBase64String(kv.Value as string ?? "")))));
            foreach (var (key, value) in values.Where(v => !v.Value.Contains("CHANGE_ME", StringComparison.Ordinal)))
                problems.Add($"{secret.File}: Secret {secret.Name} key {key} holds a value instead of a CHANGE_ME placeholder; never commit real secrets.");
        }

        var file = Manifests.Compose.RelativePath;
        foreach (var (name, svc) in Manifests.ComposeServices)
        {
            foreach (var (key, raw) in DeploymentManifests.ComposeEnvironment(svc).Where(e => IsSecret(e.Key) || e.Key.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase)))
            {
                var secretPart = raw is null ? null
                    : key.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase) ? PasswordOf(raw)
                    : raw;
                var variables = secretPart is null ? [] : DeploymentManifests.Variables(secretPart).ToList();
                if (secretPart is null || variables.Count != 1 || variables[0].Operator is "-" or ":-" || !Regex.IsMatch(secretPart, @"^\$\{\w+(:?\?[^}]*)?\}$"))
                    problems.Add(key.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)
                        ? $"{file}: service {name} {key} must take its Password whole from a variable without a default (Password=${{POSTGRES_PASSWORD:?…}}) set in .env, not from the manifest."
                        : $"{file}: service {name} {key} must be a variable without a default (e.g. ${{SOME_SECRET:?…}}) set in .env, not a value in the manifest.");
            }
        }

        var missing = new List<string>();
        foreach (var text in AllScalars(Manifests.Compose.Documents[0])) Manifests.Interpolate(text, missing);
        foreach (var variable in missing.Distinct()) problems.Add($"{file}: ${{{variable}}} has no default and is not in {DeploymentManifests.ComposeFolder}/.env.example.");
        var ignore = Path.Combine(Root, DeploymentManifests.ComposeFolder, ".gitignore");
        if (!File.Exists(ignore) || !File.ReadAllLines(ignore).Any(l => l.Trim() is ".env" or "/.env"))
            problems.Add($"{DeploymentManifests.ComposeFolder}/.gitignore must ignore .env (it holds the secrets).");
        AssertNone(problems);
    }

    [Fact]
    public void ConnectionPools_FitPostgresMaxConnections()
    {
        var problems = new List<string>();
        var file = Manifests.Compose.RelativePath;
        var postgres = Manifests.ComposeServices.Values.FirstOrDefault(s => Repository(Manifests.Interpolate(s.Text("image") ?? "")) == "postgres");
        var maxSetting = postgres?.Strings("command").Select(a => MaxConnections().Match(a)).FirstOrDefault(m => m.Success);
        if (maxSetting is null)
        {
            problems.Add($"{file}: the postgres service does not set max_connections (command: [\"postgres\", \"-c\", \"max_connections=…\"]).");
        }
        else
        {
            var pools = Manifests.ComposeServices
                .Select(s => (s.Key, Connection: DeploymentManifests.ComposeEnvironment(s.Value).GetValueOrDefault("ConnectionStrings__Smpc"), Replicas: s.Value.Text("deploy", "replicas")))
                .Where(s => s.Connection is not null)
                .Select(s => (Where: $"{file}: service {s.Key}", Pool: PoolSize(Manifests.Interpolate(s.Connection!)), Count: int.Parse(s.Replicas ?? "1", CultureInfo.InvariantCulture)))
                .ToList();
            CheckBudget(pools, int.Parse(maxSetting.Groups["max"].Value, CultureInfo.InvariantCulture), $"{file} (postgres max_connections)", problems);
        }

        foreach (var secret in Manifests.Resources.Where(r => r.Kind == "Secret" && r.Node.Map("stringData")?.Values.OfType<string>().Any(v => v.Contains("Host=", StringComparison.OrdinalIgnoreCase)) == true))
        {
            var annotation = secret.Node.Text("metadata", "annotations", "smpc/postgres-max-connections");
            if (annotation is null)
            {
                problems.Add($"{secret.File}: Secret {secret.Name} holds connection strings but no smpc/postgres-max-connections annotation to budget their pools against.");
                continue;
            }

            var pools = Manifests.Containers
                .Select(c => (Container: c, Ref: c.Environment.GetValueOrDefault("ConnectionStrings__Smpc")?.ValueFrom?.Map("secretKeyRef")))
                .Where(c => c.Ref?.Text("name") == secret.Name)
                .Select(c => (Where: $"{c.Container.Workload.File}: {c.Container}", Pool: PoolSize(secret.Node.Text("stringData", c.Ref!.Text("key")!) ?? ""),
                    Count: int.Parse(c.Container.Workload.Node.Text("spec", "replicas") ?? c.Container.Workload.Node.Text("spec", "parallelism") ?? "1", CultureInfo.InvariantCulture)))
                .ToList();
            CheckBudget(pools, int.Parse(annotation, CultureInfo.InvariantCulture), $"{secret.File} (annotation smpc/postgres-max-connections)", problems);
        }

        AssertNone(problems);
    }

    [Fact]
    public void OpenTelemetry_ServicesExportToTheCollector_WhichExportsTracesToTheViewer()
    {
        var problems = new List<string>();
        var file = Manifests.Compose.RelativePath;
        var services = Manifests.ComposeServices;
        // Every long-running process exports (the one-shot migration configures no telemetry).
        var endpoints = AppServices().Where(s => !IsMigration(s.Service))
            .Select(s => (s.Name, Endpoint: DeploymentManifests.ComposeEnvironment(s.Service).GetValueOrDefault("OTEL_EXPORTER_OTLP_ENDPOINT")))
            .ToList();
        foreach (var (name, _) in endpoints.Where(e => e.Endpoint is null)) problems.Add($"{file}: service {name} sets no OTEL_EXPORTER_OTLP_ENDPOINT.");

        foreach (var (name, endpoint) in endpoints.Where(e => e.Endpoint is not null).DistinctBy(e => e.Endpoint))
        {
            var uri = new Uri(Manifests.Interpolate(endpoint!));
            if (!services.TryGetValue(uri.Host, out var collector))
            {
                problems.Add($"{file}: service {name} exports to {uri}, but there is no service {uri.Host}.");
                continue;
            }

            var mount = collector.Strings("volumes").Select(v => v.Split(':')[0]).FirstOrDefault(v => v.EndsWith(".yaml", StringComparison.Ordinal) || v.EndsWith(".yml", StringComparison.Ordinal));
            // A mount is relative to the compose file's folder (e.g. ../observability/otel-collector.yaml).
            var mounted = mount is null ? null : Path.GetRelativePath(Root, Path.GetFullPath(Path.Combine(Root, DeploymentManifests.ComposeFolder, mount))).Replace('\\', '/');
            var config = mounted is null ? null : Manifests.AllYaml.FirstOrDefault(f => f.RelativePath == mounted);
            if (config is null)
            {
                problems.Add($"{file}: service {uri.Host} mounts no collector configuration from the repository ({mount ?? "no .yaml volume"}).");
                continue;
            }

            var root = config.Documents[0];
            var listens = (root.Map("receivers", "otlp", "protocols") ?? []).Values.Select(p => p.Text("endpoint")).OfType<string>();
            if (!listens.Any(l => l.EndsWith(":" + uri.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)))
                problems.Add($"{config.RelativePath}: the otlp receiver does not listen on port {uri.Port}, where service {name} sends (OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}).");

            foreach (var (pipeline, definition) in root.Map("service", "pipelines") ?? [])
                foreach (var part in new[] { "receivers", "processors", "exporters" })
                    foreach (var component in definition.Strings(part).Where(c => root.Map(part)?.ContainsKey(c) != true))
                        problems.Add($"{config.RelativePath}: pipeline {pipeline} uses {part} '{component}', which is not defined.");

            var traceExporters = root.Strings("service", "pipelines", "traces", "exporters");
            var viewers = traceExporters.Select(e => root.Text("exporters", e, "endpoint")).OfType<string>()
                .Select(e => e.Contains("://", StringComparison.Ordinal) ? new Uri(e).Host : e.Split(':')[0])
                .Where(services.ContainsKey)
                .ToList();
            if (viewers.Count == 0) problems.Add($"{config.RelativePath}: the traces pipeline exports to no service of {file}.");
        }

        AssertNone(problems);
    }

    private static void AssertNone(List<string> problems) =>
        Assert.True(problems.Count == 0, $"{problems.Count} problem(s) in the deployment artifacts:\n  " + string.Join("\n  ", problems));

    private static string Relative(string path) => Path.GetRelativePath(Root, path).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>Every Smpc__/ConnectionStrings__ variable set in Compose services, Kubernetes containers and ConfigMaps.</summary>
    private static IEnumerable<(string File, string Where, string Name, string? Value)> ServiceKeyUses()
    {
        static bool Ours(string name) =>
            name.StartsWith("Smpc__", StringComparison.OrdinalIgnoreCase) || name.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase);

        foreach (var (service, definition) in Manifests.ComposeServices)
            foreach (var (name, value) in DeploymentManifests.ComposeEnvironment(definition).Where(e => Ours(e.Key)))
                yield return (Manifests.Compose.RelativePath, $"service {service}", name, value is null ? null : Manifests.Interpolate(value));

        // A container's own env; what it takes from ConfigMaps (envFrom) is reported once, for the ConfigMap, below.
        foreach (var container in Manifests.Containers)
            foreach (var variable in container.Environment.Values.Where(v => Ours(v.Name) && v.Origin == container.Workload.File))
                yield return (variable.Origin, container.ToString(), variable.Name, variable.Value);

        foreach (var map in Manifests.Resources.Where(r => r.Kind == "ConfigMap"))
            foreach (var (name, value) in (map.Node.Map("data") ?? []).Where(d => Ours(d.Key)))
                yield return (map.File, $"ConfigMap {map.Name}", name, value as string);
    }

    private static string ConfigurationKey(string environmentName) => environmentName.Replace("__", ":", StringComparison.Ordinal);

    // Smpc:Gateway:Cors:Origins:0 is documented as Smpc:Gateway:Cors:Origins.
    private static string DocumentedKey(string key) => Regex.Replace(key, @"(:\d+)+$", "");

    private static bool IsSecret(string environmentName)
    {
        var key = ConfigurationKey(environmentName);
        var last = key.Split(':')[^1];
        return key.StartsWith("ConnectionStrings:", StringComparison.OrdinalIgnoreCase)
               || last.Contains("Password", StringComparison.OrdinalIgnoreCase)
               || (key.StartsWith("Smpc:", StringComparison.OrdinalIgnoreCase) && last.Contains("Key", StringComparison.Ordinal));
    }

    private static string? PasswordOf(string connectionString) =>
        connectionString.Split(';').Select(p => p.Split('=', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Password", StringComparison.OrdinalIgnoreCase)).Select(p => p[1].Trim()).FirstOrDefault();

    private static IEnumerable<string> AllScalars(object? node) => node switch
    {
        string s => [s],
        Dictionary<string, object?> map => map.Values.SelectMany(AllScalars),
        List<object?> list => list.SelectMany(AllScalars),
        _ => [],
    };

    private static int PoolSize(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).MaxPoolSize;

    private static void CheckBudget(List<(string Where, int Pool, int Count)> pools, int maxConnections, string against, List<string> problems)
    {
        var npgsqlDefault = new NpgsqlConnectionStringBuilder().MaxPoolSize;
        foreach (var pool in pools.Where(p => p.Pool == npgsqlDefault))
            problems.Add($"{pool.Where}: ConnectionStrings__Smpc sets no Maximum Pool Size (Npgsql's default is {npgsqlDefault} per process).");
        // Leave a tenth of the server for psql, backups, monitoring and a pod surging during a rolling update.
        var headroom = maxConnections / 10;
        var total = pools.Sum(p => p.Pool * p.Count);
        if (pools.Count == 0) problems.Add($"{against}: no process uses these connection strings.");
        if (total + headroom > maxConnections)
            problems.Add($"{against}: pools add up to {total} ({string.Join(" + ", pools.Select(p => $"{p.Count}×{p.Pool}"))}) + {headroom} headroom > max_connections {maxConnections}.");
    }

    private static IEnumerable<(string Name, Dictionary<string, object?> Service)> AppServices() =>
        Manifests.ComposeServices
            .Where(s => Repository(Manifests.Interpolate(s.Value.Text("image") ?? "")) is { } r && (r == SiloImage.Repository || r == GatewayImage.Repository))
            .Select(s => (s.Key, s.Value));

    private static bool IsMigration(Dictionary<string, object?> service) =>
        service.Strings("command").FirstOrDefault() == MigrateVerb;

    private static bool IsSiloService(Dictionary<string, object?> service) =>
        !IsMigration(service) && Repository(Manifests.Interpolate(service.Text("image") ?? "")) == SiloImage.Repository;

    private static bool IsMigrationContainer(K8sContainer container) => container.Node.Strings("args").FirstOrDefault() == MigrateVerb;

    private static bool IsSilo(K8sContainer container) => !IsMigrationContainer(container) && Repository(container.Image) == SiloImage.Repository;

    private static SmpcHostOptions BindSiloOptions(IEnumerable<KeyValuePair<string, string?>> environment)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Where(e => e.Value is not null).Select(e => KeyValuePair.Create(ConfigurationKey(e.Key), e.Value)))
            .Build();
        return configuration.GetSection(SmpcHostOptions.Section).Get<SmpcHostOptions>() ?? new SmpcHostOptions();
    }

    private static void CheckSiloMode(string file, string where, SmpcHostOptions options, List<string> problems)
    {
        if (options.Mode != HostingMode.Cluster) problems.Add($"{file}: {where} runs in {options.Mode} mode; set Smpc__Mode=Cluster.");
        if (options.ServesRestApi) problems.Add($"{file}: {where} serves the REST API (Smpc__CoHostGateway); the gateways do that.");
        if (options.AppliesSchema) problems.Add($"{file}: {where} applies the schema at start (Smpc__ApplySchemaOnStart); the migration does that once.");
    }

    private static ContainerImage? ImageOf(string image) =>
        Repository(image) == SiloImage.Repository ? SiloImage : Repository(image) == GatewayImage.Repository ? GatewayImage : null;

    /// <summary>The repository of an image reference without registry, tag or digest: <c>reg.io/x/smpc-silo:1.2</c> → <c>smpc-silo</c>.</summary>
    private static string? Repository(string image)
    {
        if (image.Length == 0) return null;
        var name = image.Split('@')[0];
        name = name[(name.LastIndexOf('/') + 1)..];
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? name : name[..colon];
    }

    private static string? BaseImage(string projectFile) =>
        System.Xml.Linq.XDocument.Load(Path.Combine(Root, projectFile)).Descendants("ContainerBaseImage").Select(e => e.Value.Trim()).LastOrDefault();

    private static int? HttpPort(string? urls)
    {
        var first = urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return first is not null && Uri.TryCreate(Regex.Replace(first, @"://[+*]", "://localhost"), UriKind.Absolute, out var uri) ? uri.Port : null;
    }

    private static Dictionary<string, int> ContainerPorts(K8sContainer container) =>
        container.Node.Maps("ports").ToDictionary(
            p => p.Text("name") ?? p.Text("containerPort")!,
            p => int.Parse(p.Text("containerPort") ?? "0", CultureInfo.InvariantCulture),
            StringComparer.Ordinal);

    private static int? ResolvePort(string? port, Dictionary<string, int> declared)
    {
        if (port is null) return null;
        if (int.TryParse(port, out var number)) return declared.ContainsValue(number) ? number : null;
        return declared.TryGetValue(port, out var named) ? named : null;
    }

    private static string Describe(Dictionary<string, int> ports) => ports.Count == 0 ? "none" : string.Join(", ", ports.Select(p => $"{p.Key}={p.Value}"));

    private static IEnumerable<K8sContainer> Selected(Dictionary<string, object?>? selector) =>
        selector is null || selector.Count == 0
            ? []
            : Manifests.Containers.Where(c => selector.All(s => c.PodLabels.Text(s.Key) == s.Value as string));

    private static string? ContainerSide(string shortSyntax)
    {
        var withoutProtocol = shortSyntax.Split('/')[0];
        return withoutProtocol[(withoutProtocol.LastIndexOf(':') + 1)..];
    }

    /// <summary>The argv a Compose healthcheck runs (CMD form as is; CMD-SHELL and string forms through /bin/sh -c), or null.</summary>
    private static List<string>? HealthcheckCommand(Dictionary<string, object?> service) => service.At("healthcheck", "test") switch
    {
        string shell => ["/bin/sh", "-c", shell],
        List<object?> list when list.FirstOrDefault() as string == "CMD" => list.Skip(1).OfType<string>().ToList(),
        List<object?> list when list.FirstOrDefault() as string == "CMD-SHELL" => ["/bin/sh", "-c", string.Join(' ', list.Skip(1).OfType<string>())],
        _ => null,
    };

    /// <summary>The host, port and path an HTTP check requests: a URL (curl, wget) or bash's /dev/tcp with a GET line.</summary>
    private static (string Host, int Port, string Path)? HttpCheck(string command)
    {
        if (HttpUrl().Match(command) is { Success: true } url)
            return (url.Groups["host"].Value, url.Groups["port"].Success ? int.Parse(url.Groups["port"].Value, CultureInfo.InvariantCulture) : 80, url.Groups["path"].Value);
        if (DevTcp().Match(command) is { Success: true } tcp && GetLine().Match(command) is { Success: true } get)
            return (tcp.Groups["host"].Value, int.Parse(tcp.Groups["port"].Value, CultureInfo.InvariantCulture), get.Groups["path"].Value);
        return null;
    }

    private static string AtPort(string argument, int port)
    {
        var local = HttpUrl().Replace(argument, m => $"http://127.0.0.1:{port}{m.Groups["path"].Value}");
        return DevTcp().Replace(local, $"/dev/tcp/127.0.0.1/{port}");
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(List<string> argv)
    {
        var start = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in argv.Skip(1)) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await output) + (await error));
    }

    [GeneratedRegex(@"^max_connections=(?<max>\d+)$")]
    private static partial Regex MaxConnections();

    [GeneratedRegex("""https?://(?<host>[^/:\s"']+)(?::(?<port>\d+))?(?<path>/[^\s"'?]*)""")]
    private static partial Regex HttpUrl();

    [GeneratedRegex(@"/dev/tcp/(?<host>[^/\s]+)/(?<port>\d+)")]
    private static partial Regex DevTcp();

    [GeneratedRegex(@"GET\s+(?<path>/[^\s?]*)\s+HTTP/")]
    private static partial Regex GetLine();
}
