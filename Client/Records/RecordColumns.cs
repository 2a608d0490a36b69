namespace Smpc.Client.Records;

/// <summary>Finds requested columns in an <see cref="IRecordSource"/>, the same way for the modeller and the pod.</summary>
public static class RecordColumns
{
    /// <summary>
    /// The index of each requested column in <paramref name="source"/>'s columns: the exact name, or else the one name
    /// that matches ignoring case.
    /// </summary>
    /// <exception cref="InvalidDataException">A column is missing or ambiguous; the message lists the available columns.</exception>
    public static int[] Resolve(IRecordSource source, IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(columns);
        var available = source.Columns;
        var indices = new int[columns.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            var name = columns[i];
            var exact = Matches(available, name, StringComparison.Ordinal);
            var matches = exact.Length > 0 ? exact : Matches(available, name, StringComparison.OrdinalIgnoreCase);
            indices[i] = matches.Length switch
            {
                1 => matches[0],
                0 => throw new InvalidDataException($"{source.Describe()} has no column '{name}'; its columns are {List(available)}."),
                _ => throw new InvalidDataException(
                    $"{source.Describe()}: column '{name}' is ambiguous, it matches {List(matches.Select(m => available[m]))}; its columns are {List(available)}."),
            };
        }

        return indices;
    }

    private static int[] Matches(IReadOnlyList<string> available, string name, StringComparison comparison) =>
        [.. Enumerable.Range(0, available.Count).Where(j => string.Equals(available[j], name, comparison))];

    private static string List(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));
}
