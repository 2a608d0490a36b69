using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Smpc.Gateway.Tests.Deployment;

/// <summary>
/// A YAML file as plain .NET values: mappings become <see cref="Dictionary{TKey,TValue}"/> (string keys), sequences
/// <see cref="List{T}"/>, scalars strings (null for an empty, <c>~</c> or <c>null</c> plain scalar). Aliases are followed
/// and merge keys (<c>&lt;&lt;: *anchor</c>, as Compose files use them) are applied, explicit keys winning.
/// </summary>
internal sealed class YamlFile
{
    private YamlFile(string relativePath, IReadOnlyList<object?> documents)
    {
        RelativePath = relativePath;
        Documents = documents;
    }

    /// <summary>The path from the repository root, with forward slashes (for messages).</summary>
    public string RelativePath { get; }

    /// <summary>Every non-empty document of the file, in order.</summary>
    public IReadOnlyList<object?> Documents { get; }

    /// <summary>Parses every document of the file; a syntax error names the file, line and column.</summary>
    public static YamlFile Load(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            throw new InvalidDataException($"{relative}: not valid YAML at line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner throws this (not a YamlException) on some unterminated flow collections.
            throw new InvalidDataException($"{relative}: not valid YAML ({ex.Message}).", ex);
        }

        var documents = stream.Documents
            .Select(d => Convert(d.RootNode))
            .Where(d => d is not null)
            .ToList();
        return new YamlFile(relative, documents);
    }

    private static object? Convert(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" ? null : scalar.Value,
        YamlSequenceNode sequence => sequence.Children.Select(Convert).ToList(),
        YamlMappingNode mapping => ConvertMapping(mapping),
        _ => throw new InvalidDataException($"Unexpected YAML node {node.NodeType} at {node.Start}."),
    };

    private static Dictionary<string, object?> ConvertMapping(YamlMappingNode mapping)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        var merges = new List<YamlNode>();
        foreach (var (key, value) in mapping.Children)
        {
            var name = key is YamlScalarNode s ? s.Value ?? "" : throw new InvalidDataException($"Non-scalar mapping key at {key.Start}.");
            if (name == "<<" && key is YamlScalarNode { Style: ScalarStyle.Plain }) merges.Add(value);
            else result[name] = Convert(value);
        }

        // YAML merge keys: later sources never override earlier ones, and explicit keys override them all.
        foreach (var source in merges.SelectMany(m => m is YamlSequenceNode seq ? seq.Children : [m]))
        {
            if (source is not YamlMappingNode merged) throw new InvalidDataException($"A merge key must name a mapping (at {source.Start}).");
            foreach (var (key, value) in ConvertMapping(merged)) result.TryAdd(key, value);
        }

        return result;
    }
}
