using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Smpc.ApiGateway.Hosting;
using Smpc.Silo.Hosting;

namespace Smpc.Gateway.Tests.Deployment;

/// <summary>
/// The configuration keys the service's processes read, found by building them: the silo (<see cref="SmpcApp"/>, in
/// cluster mode as the manifests run it) and the standalone gateway (<see cref="GatewayApp"/>) are built through their
/// real builders with a recording configuration source on top, and every option they register is resolved. What is
/// bound by <c>Configure&lt;T&gt;(section)</c> is taken from the container (section path and type, walked by reflection
/// over public settable properties); everything else read (<c>GetSection(…).Get&lt;T&gt;()</c>, <c>Configuration["…"]</c>,
/// <c>GetValue</c>, <c>GetConnectionString</c>) is what the recording source was asked for.
/// </summary>
internal sealed class ConfigurationSurface
{
    private const string BuildConnectionString = "Host=127.0.0.1;Port=1;Username=x;Database=x";
    private static readonly string[] Processes = ["silo", "gateway"];

    private readonly IReadOnlyDictionary<string, IReadOnlySet<string>> _baselineErrors;

    private ConfigurationSurface(IReadOnlyList<SectionBinding> sections, IReadOnlyDictionary<string, string> directKeys,
        IReadOnlyDictionary<string, string> enumerated, IReadOnlyDictionary<string, IReadOnlySet<string>> baselineErrors)
    {
        Sections = sections;
        DirectKeys = directKeys;
        Enumerated = enumerated;
        _baselineErrors = baselineErrors;
    }

    /// <summary>Configuration sections bound to an options type in a process's container, e.g. <c>Smpc:Gateway</c> → <see cref="RestGatewayOptions"/>.</summary>
    public IReadOnlyList<SectionBinding> Sections { get; }

    /// <summary>Keys a process read one by one (case-insensitive), with the process that read them (silo, gateway).</summary>
    public IReadOnlyDictionary<string, string> DirectKeys { get; }

    /// <summary>Sections whose children a process listed, with the process: their numbered children (array elements) are read.</summary>
    public IReadOnlyDictionary<string, string> Enumerated { get; }

    /// <summary>Builds the silo and the gateway and records what they read.</summary>
    public static async Task<ConfigurationSurface> DiscoverAsync()
    {
        var sections = new List<SectionBinding>();
        var direct = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var enumerated = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var baseline = new Dictionary<string, IReadOnlySet<string>>();
        foreach (var process in Processes)
        {
            var recorder = new ReadRecorder();
            var (services, errors) = await BuildAsync(process, recorder, new Dictionary<string, string?>());
            sections.AddRange(BoundSections(services));
            foreach (var key in recorder.Keys) direct.TryAdd(key, process);
            foreach (var parent in recorder.Parents) enumerated.TryAdd(parent, process);
            baseline[process] = errors;
        }

        return new ConfigurationSurface([.. sections.Distinct()], direct, enumerated, baseline);
    }

    /// <summary>What a configuration key (colon form) binds to, or null when no process reads it.</summary>
    public KeyBinding? Resolve(string key)
    {
        foreach (var section in Sections.OrderByDescending(s => s.Path.Length))
        {
            if (key.Equals(section.Path, StringComparison.OrdinalIgnoreCase) && IsScalar(section.Type))
                return new(key, section, section.Type, null);
            if (!key.StartsWith(section.Path + ":", StringComparison.OrdinalIgnoreCase)) continue;
            if (Walk(section.Type, key[(section.Path.Length + 1)..].Split(':')) is { } leaf) return new(key, section, leaf, null);
        }

        if (DirectKeys.TryGetValue(key, out var process)) return new(key, null, typeof(string), process);
        // An array element (…:Origins:0) of a section that was listed; a named child of a listed section is not enough,
        // since binding any class lists its section first.
        var parent = key.LastIndexOf(':');
        return parent > 0 && int.TryParse(key[(parent + 1)..], out _) && Enumerated.TryGetValue(key[..parent], out var lister)
            ? new(key, null, typeof(string), lister)
            : null;
    }

    /// <summary>
    /// Binds <paramref name="value"/> at <paramref name="key"/> the way the service does: through the options type of its
    /// section, or by building the process that reads it with the value set. Returns the error, or null.
    /// </summary>
    public async Task<string?> TryBindAsync(KeyBinding binding, string value)
    {
        if (binding.Section is { } section)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(binding.Key, value)]).Build();
            try
            {
                configuration.GetSection(section.Path).Get(section.Type);
                return null;
            }
            catch (InvalidOperationException ex)
            {
                return ex.Message;
            }
        }

        var process = binding.Process!;
        try
        {
            var (_, errors) = await BuildAsync(process, new ReadRecorder(), new Dictionary<string, string?> { [binding.Key] = value });
            var added = errors.Except(_baselineErrors[process]).ToList();
            return added.Count == 0 ? null : string.Join("; ", added);
        }
        catch (InvalidOperationException ex)
        {
            return $"the {process} does not build: {ex.Message}";
        }
    }

    /// <summary>
    /// Builds a process as its Program does (nothing started), resolves every option it registered, and disposes it;
    /// returns its service registrations and the errors the options gave.
    /// </summary>
    private static async Task<(IReadOnlyList<ServiceDescriptor> Services, IReadOnlySet<string> Errors)> BuildAsync(
        string process, ReadRecorder recorder, IReadOnlyDictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            // The manifests' shape: PostgreSQL clustering (never contacted by a build) and a configured operator key.
            ["Smpc:Mode"] = "Cluster",
            ["ConnectionStrings:Smpc"] = BuildConnectionString,
            ["Smpc:Gateway:OperatorKeySha256"] = new string('0', 64),
            ["Logging:LogLevel:Default"] = "None",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        ((IConfigurationBuilder)builder.Configuration).Add(recorder); // last, so it is asked first for every key
        await using var app = process == "silo" ? await SmpcApp.BuildAsync(builder) : GatewayApp.Build(builder);
        var services = builder.Services.ToList();
        var errors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in OptionTypes(services))
        {
            try
            {
                var options = app.Services.GetRequiredService(typeof(IOptions<>).MakeGenericType(type));
                _ = options.GetType().GetProperty(nameof(IOptions<object>.Value))!.GetValue(options);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                errors.Add($"{type.Name}: {ex.InnerException.Message}");
            }
        }

        return (services, errors);
    }

    /// <summary>Every options type something configures in the container.</summary>
    private static IEnumerable<Type> OptionTypes(IEnumerable<ServiceDescriptor> services) =>
        services.Where(d => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(IConfigureOptions<>))
            .Select(d => d.ServiceType.GetGenericArguments()[0])
            .Where(t => !t.ContainsGenericParameters)
            .Distinct();

    /// <summary>Sections bound by <c>Configure&lt;T&gt;(IConfiguration)</c>: each registers a change-token source holding the section.</summary>
    private static IEnumerable<SectionBinding> BoundSections(IEnumerable<ServiceDescriptor> services) =>
        services
            .Where(d => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(IOptionsChangeTokenSource<>))
            .Select(d => (Type: d.ServiceType.GetGenericArguments()[0], Source: d.IsKeyedService ? null : d.ImplementationInstance))
            .Where(s => s.Source is { } source && source.GetType().IsGenericType && source.GetType().GetGenericTypeDefinition() == typeof(ConfigurationChangeTokenSource<>))
            .Select(s => (s.Type, Section: s.Source!.GetType().GetField("_config", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(s.Source) as IConfigurationSection))
            .Where(s => s.Section is not null)
            .Select(s => new SectionBinding(s.Section!.Path, s.Type));

    private static Type? Walk(Type type, string[] segments)
    {
        var current = type;
        foreach (var segment in segments)
        {
            if (ElementType(current) is { } element)
            {
                if (!int.TryParse(segment, out _)) return null;
                current = element;
            }
            else if (!IsScalar(current))
            {
                var property = current.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .FirstOrDefault(p => p.Name.Equals(segment, StringComparison.OrdinalIgnoreCase) && p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0);
                if (property is null) return null;
                current = property.PropertyType;
            }
            else
            {
                return null;
            }
        }

        return IsScalar(current) ? current : null;
    }

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(DateTimeOffset)
               || t == typeof(DateTime) || t == typeof(Uri) || t == typeof(Guid);
    }

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string)) return null;
        if (type.IsArray) return type.GetElementType();
        return typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType ? type.GetGenericArguments()[^1] : null;
    }

    /// <summary>A configuration source that holds nothing and writes down every key and section it is asked about.</summary>
    private sealed class ReadRecorder : IConfigurationSource, IConfigurationProvider
    {
        private readonly ConcurrentDictionary<string, byte> _keys = new(StringComparer.OrdinalIgnoreCase);
        private readonly ConcurrentDictionary<string, byte> _parents = new(StringComparer.OrdinalIgnoreCase);

        public IEnumerable<string> Keys => _keys.Keys;

        public IEnumerable<string> Parents => _parents.Keys;

        public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

        public bool TryGet(string key, out string? value)
        {
            _keys.TryAdd(key, 0);
            value = null;
            return false;
        }

        public void Set(string key, string? value)
        {
        }

        public IChangeToken GetReloadToken() => new CancellationChangeToken(CancellationToken.None);

        public void Load()
        {
        }

        public IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
        {
            if (parentPath is not null) _parents.TryAdd(parentPath, 0);
            return earlierKeys;
        }
    }
}

/// <summary>A configuration section bound to a type.</summary>
internal sealed record SectionBinding(string Path, Type Type);

/// <summary>A key the service reads: through a section bound to a type, or directly by a process (silo, gateway).</summary>
internal sealed record KeyBinding(string Key, SectionBinding? Section, Type LeafType, string? Process);
