using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Smpc.ApiGateway.Hosting;
using Smpc.Silo.Hosting;

namespace Smpc.Gateway.Tests.Deployment;

/// <summary>
/// The configuration keys the service's processes read, found from their code: the sections bound to option types
/// (<c>Configure&lt;T&gt;(…GetSection(…))</c>, <c>GetSection(…).Get&lt;T&gt;()</c> in Silo/ and ApiGateway/) walked by
/// reflection over public settable properties, plus keys read directly (<c>Configuration["…"]</c>,
/// <c>GetValue&lt;T&gt;("…")</c>, <c>GetConnectionString("…")</c>).
/// </summary>
internal sealed partial class ConfigurationSurface
{
    private static readonly string[] SourceFolders = ["Silo", "ApiGateway"];
    private static readonly Assembly[] CodeAssemblies = [typeof(SmpcHostOptions).Assembly, typeof(RestGatewayOptions).Assembly];

    private ConfigurationSurface(IReadOnlyList<SectionBinding> sections, IReadOnlyDictionary<string, Type> directKeys)
    {
        Sections = sections;
        DirectKeys = directKeys;
    }

    /// <summary>Configuration sections bound to a type, e.g. <c>Smpc</c> → <see cref="SmpcHostOptions"/>.</summary>
    public IReadOnlyList<SectionBinding> Sections { get; }

    /// <summary>Keys read one by one, with the type they are read as (string for indexers).</summary>
    public IReadOnlyDictionary<string, Type> DirectKeys { get; }

    /// <summary>Scans the sources of the silo and the gateway under <paramref name="root"/>.</summary>
    public static ConfigurationSurface Discover(string root)
    {
        var types = CodeAssemblies.SelectMany(a => a.GetTypes()).Where(t => !t.IsNested || t.IsNestedPublic).ToLookup(t => t.Name);
        var sections = new List<SectionBinding>();
        var direct = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in SourceFolders.SelectMany(f => Directory.EnumerateFiles(Path.Combine(root, f), "*.cs", SearchOption.AllDirectories))
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                                 && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var source = File.ReadAllText(file);
            foreach (var m in ConfigureSection().Matches(source).Concat(GetSection().Matches(source)))
            {
                var type = ResolveType(m.Groups["type"].Value, types, file);
                sections.Add(new(ResolveSection(m.Groups["section"].Value, type, source, types, file), type));
            }

            foreach (Match m in IndexerKey().Matches(source)) direct.TryAdd(m.Groups["key"].Value, typeof(string));
            foreach (Match m in GetValueKey().Matches(source)) direct[m.Groups["key"].Value] = ResolveType(m.Groups["type"].Value, types, file);
            foreach (Match m in ConnectionString().Matches(source)) direct.TryAdd("ConnectionStrings:" + m.Groups["name"].Value, typeof(string));
        }

        return new ConfigurationSurface(sections.Distinct().ToList(), direct);
    }

    /// <summary>What a configuration key (colon form) binds to, or null when nothing in the code reads it.</summary>
    public KeyBinding? Resolve(string key)
    {
        foreach (var section in Sections.OrderByDescending(s => s.Path.Length))
        {
            if (key.Equals(section.Path, StringComparison.OrdinalIgnoreCase) && IsScalar(section.Type))
                return new(key, section, section.Type);
            if (!key.StartsWith(section.Path + ":", StringComparison.OrdinalIgnoreCase)) continue;
            if (Walk(section.Type, key[(section.Path.Length + 1)..].Split(':')) is { } leaf) return new(key, section, leaf);
        }

        return DirectKeys.TryGetValue(key, out var type) ? new(key, null, type) : null;
    }

    /// <summary>Binds <paramref name="value"/> at <paramref name="key"/> the way the service does; returns the binder's error, or null.</summary>
    public static string? TryBind(KeyBinding binding, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(binding.Key, value)]).Build();
        try
        {
            if (binding.Section is { } section) configuration.GetSection(section.Path).Get(section.Type);
            else configuration.GetValue(binding.LeafType, binding.Key);
            return null;
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
    }

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

    private static string ResolveSection(string expression, Type bound, string source, ILookup<string, Type> types, string file)
    {
        if (expression.StartsWith('"')) return expression.Trim('"');
        // `SomeOptions.Section`, or a bare `Section` inside the options type (or another type of the same file): read the
        // constant from the compiled type.
        var parts = expression.Split('.');
        var owners = parts.Length > 1
            ? [ResolveType(parts[^2], types, file)]
            : new[] { bound }.Concat(DeclaredType().Matches(source).Select(m => m.Groups["name"].Value).SelectMany(n => types[n])).ToArray();
        return owners
                   .Select(o => o.GetField(parts[^1], BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue() as string)
                   .FirstOrDefault(v => v is not null)
               ?? throw new NotSupportedException($"{file}: cannot read the section name {expression}; extend {nameof(ConfigurationSurface)}.");
    }

    private static Type ResolveType(string name, ILookup<string, Type> types, string file)
    {
        Type? builtIn = name switch
        {
            "string" => typeof(string),
            "string[]" => typeof(string[]),
            "bool" => typeof(bool),
            "int" => typeof(int),
            "long" => typeof(long),
            "double" => typeof(double),
            "TimeSpan" => typeof(TimeSpan),
            _ => null,
        };
        if (builtIn is not null) return builtIn;
        var candidates = types[name.Split('.')[^1]].ToList();
        return candidates.Count == 1
            ? candidates[0]
            : throw new NotSupportedException($"{file}: configuration type '{name}' matches {candidates.Count} types in the service assemblies; extend {nameof(ConfigurationSurface)}.");
    }

    // builder.Services.Configure<QuotaOptions>(builder.Configuration.GetSection("Smpc:Gateway:Quotas"))
    [GeneratedRegex("""Configure<(?<type>[\w.]+)>\(\s*[\w.]*GetSection\((?<section>"[^"]*"|[\w.]+)\)\s*\)""")]
    private static partial Regex ConfigureSection();

    // configuration.GetSection(SmpcHostOptions.Section).Get<SmpcHostOptions>()
    [GeneratedRegex("""GetSection\((?<section>"[^"]*"|[\w.]+)\)\s*\.Get<(?<type>[\w.\[\]]+)>\(""")]
    private static partial Regex GetSection();

    [GeneratedRegex(@"\b(?:class|record|struct)\s+(?<name>\w+)")]
    private static partial Regex DeclaredType();

    // builder.Configuration["Smpc:ClusterId"]
    [GeneratedRegex("""[Cc]onfiguration\[\s*"(?<key>[^"]+)"\s*\]""")]
    private static partial Regex IndexerKey();

    // builder.Configuration.GetValue<bool>("Smpc:Telemetry:Console")
    [GeneratedRegex("""GetValue<(?<type>[\w.\[\]]+)>\(\s*"(?<key>[^"]+)"\s*\)""")]
    private static partial Regex GetValueKey();

    // configuration.GetConnectionString("Smpc")
    [GeneratedRegex("""GetConnectionString\(\s*"(?<name>[^"]+)"\s*\)""")]
    private static partial Regex ConnectionString();
}

/// <summary>A configuration section bound to a type.</summary>
internal sealed record SectionBinding(string Path, Type Type);

/// <summary>A key the service reads: through a section bound to a type, or directly.</summary>
internal sealed record KeyBinding(string Key, SectionBinding? Section, Type LeafType);
