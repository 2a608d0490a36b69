namespace Smpc.Protocols.Federated.Training;

/// <summary>A dense table of numeric features (row-major) with one label per row; raw as loaded, or standardised.</summary>
public sealed class TrainingData
{
    private readonly double[] _features;
    private readonly double[] _labels;

    /// <summary>Creates a table from row-major <paramref name="features"/> (rows × <paramref name="featureCount"/>) and one label per row; both are copied.</summary>
    public TrainingData(ReadOnlySpan<double> features, ReadOnlySpan<double> labels, int featureCount)
        : this(featureCount, features.ToArray(), labels.ToArray())
    {
    }

    // Takes ownership of the arrays: callers hand over arrays nothing else holds.
    private TrainingData(int featureCount, double[] features, double[] labels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        if (features.Length != (long)labels.Length * featureCount)
        {
            throw new ArgumentException($"{features.Length} feature values do not make {labels.Length} rows of {featureCount}.", nameof(features));
        }

        _features = features;
        _labels = labels;
        FeatureCount = featureCount;
    }

    /// <summary>Number of rows.</summary>
    public int Count => _labels.Length;

    /// <summary>Number of features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>All feature values, row-major.</summary>
    public ReadOnlySpan<double> Features => _features;

    /// <summary>The labels, one per row.</summary>
    public ReadOnlySpan<double> Labels => _labels;

    /// <summary>Creates a table from rows of equal length and one label per row (copied).</summary>
    public static TrainingData FromRows(IReadOnlyList<double[]> rows, IReadOnlyList<double> labels)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(labels);
        if (rows.Count == 0) throw new ArgumentException("At least one row is needed to know the feature count.", nameof(rows));
        if (rows.Count != labels.Count) throw new ArgumentException($"{rows.Count} rows but {labels.Count} labels.", nameof(labels));
        var d = rows[0].Length;
        var features = new double[(long)rows.Count * d];
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length != d) throw new ArgumentException($"Row {i} has {rows[i].Length} values; row 0 has {d}.", nameof(rows));
            rows[i].CopyTo(features, (long)i * d);
        }

        return new TrainingData(d, features, [.. labels]);
    }

    /// <summary>The rows of several tables with the same features, one after another (e.g. the pods' data pooled for a baseline).</summary>
    public static TrainingData Concat(IEnumerable<TrainingData> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var list = parts.ToList();
        if (list.Count == 0) throw new ArgumentException("Nothing to concatenate.", nameof(parts));
        var d = list[0].FeatureCount;
        if (list.Any(p => p.FeatureCount != d)) throw new ArgumentException("The tables have different feature counts.", nameof(parts));
        return new TrainingData(d, [.. list.SelectMany(p => p._features)], [.. list.SelectMany(p => p._labels)]);
    }

    /// <summary>Wraps arrays the caller gives up (a loader's fresh buffers) without copying; the caller must not touch them again.</summary>
    public static TrainingData Own(double[] features, double[] labels, int featureCount) => new(featureCount, features, labels);

    /// <summary>The features of row <paramref name="index"/>.</summary>
    public ReadOnlySpan<double> Row(int index) => _features.AsSpan(index * FeatureCount, FeatureCount);

    /// <summary>The label of row <paramref name="index"/>.</summary>
    public double Label(int index) => _labels[index];
}
