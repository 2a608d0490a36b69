namespace Smpc.Gateway.Tests.Deployment;

/// <summary>Navigation over the plain values <see cref="YamlFile"/> produces.</summary>
internal static class YamlNodes
{
    /// <summary>The value at a path of mapping keys, or null where any step is missing or not a mapping.</summary>
    public static object? At(this object? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not Dictionary<string, object?> map || !map.TryGetValue(key, out node)) return null;
        }

        return node;
    }

    /// <summary>The scalar at a path, or null.</summary>
    public static string? Text(this object? node, params string[] path) => node.At(path) as string;

    /// <summary>The mapping at a path, or null.</summary>
    public static Dictionary<string, object?>? Map(this object? node, params string[] path) => node.At(path) as Dictionary<string, object?>;

    /// <summary>The items of the sequence at a path (none when absent).</summary>
    public static IEnumerable<object?> Items(this object? node, params string[] path) => node.At(path) as List<object?> ?? [];

    /// <summary>The mappings of the sequence at a path (none when absent).</summary>
    public static IEnumerable<Dictionary<string, object?>> Maps(this object? node, params string[] path) =>
        node.Items(path).OfType<Dictionary<string, object?>>();

    /// <summary>The scalars of the sequence at a path, or the single scalar there (Compose allows both).</summary>
    public static IReadOnlyList<string> Strings(this object? node, params string[] path) => node.At(path) switch
    {
        string s => [s],
        List<object?> list => list.OfType<string>().ToList(),
        _ => [],
    };
}
