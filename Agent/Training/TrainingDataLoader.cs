using System.Globalization;
using Smpc.Agent.DataSources;
using Smpc.Client.Records;
using Smpc.Contracts;
using Smpc.Protocols.Federated.Training;

namespace Smpc.Agent.Training;

/// <summary>Reads a pod's training rows (the request's features and label) from a record source, enforcing its policy and the request's bounds.</summary>
public static class TrainingDataLoader
{
    /// <summary>Loads the rows with the built-in trainers.</summary>
    /// <inheritdoc cref="LoadAsync(TrainingRequest, RecordSourceConfig, TrainingPolicy, string, TrainerRegistry, CancellationToken)"/>
    public static Task<TrainingData> LoadAsync(
        TrainingRequest request, RecordSourceConfig source, TrainingPolicy policy, string baseDirectory, CancellationToken ct = default) =>
        LoadAsync(request, source, policy, baseDirectory, Trainers.Builtin, ct);

    /// <summary>
    /// Loads the raw (unstandardised) rows of the request's feature and label columns from <paramref name="source"/>, the
    /// source the pod configured under <see cref="TrainingRequest.Source"/>.
    /// </summary>
    /// <exception cref="TrainingRefusedException">
    /// The request is malformed, the policy refuses it, the trainer is unknown, a column is missing, a value is NULL,
    /// not a number, not finite or outside ±FeatureBound (the message names the row and column, never the value), a binary
    /// label is not 0/1/true/false, or the source has no rows or more than MaxSamplesPerPod.
    /// </exception>
    /// <exception cref="InvalidDataException">The source's configuration is wrong or it cannot be read (a local error, not a refusal).</exception>
    public static async Task<TrainingData> LoadAsync(
        TrainingRequest request, RecordSourceConfig source, TrainingPolicy policy, string baseDirectory, TrainerRegistry trainers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(trainers);
        if (TrainingRequests.Problem(request) is { } problem) throw new TrainingRefusedException(problem);
        if (policy.Refusal(request) is { } refusal) throw new TrainingRefusedException(refusal);
        if (!trainers.TryGet(request.Trainer, out var trainer)) throw new TrainingRefusedException(trainers.UnknownMessage(request.Trainer));

        var d = request.Features.Count;
        string[] columns = [.. request.Features, request.Label];
        await using var records = await RecordSources.OpenAsync(source, baseDirectory, ct).ConfigureAwait(false);
        var indices = Resolve(records, request.Source, columns);

        var features = new List<double>();
        var labels = new List<double>();
        long row = 0;
        await foreach (var values in records.ReadRowsAsync(ct).ConfigureAwait(false))
        {
            row++;
            if (row > request.MaxSamplesPerPod)
            {
                throw new TrainingRefusedException($"source '{request.Source}' has more than MaxSamplesPerPod = {request.MaxSamplesPerPod} rows");
            }

            for (var j = 0; j < d; j++) features.Add(Feature(values[indices[j]], row, columns[j], request.FeatureBound));
            labels.Add(trainer.BinaryLabels
                ? BinaryLabel(values[indices[d]], row, request.Label, trainer.Name)
                : Feature(values[indices[d]], row, request.Label, request.FeatureBound));
        }

        if (row == 0) throw new TrainingRefusedException($"source '{request.Source}' has no rows");
        return TrainingData.Own([.. features], [.. labels], d);
    }

    // The refusal goes to the modeller, so it names the missing column but not the source's other columns.
    private static int[] Resolve(IRecordSource records, string sourceName, string[] columns)
    {
        foreach (var name in columns)
        {
            if (!records.Columns.Any(c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new TrainingRefusedException($"source '{sourceName}' has no column '{name}'");
            }
        }

        try
        {
            return RecordColumns.Resolve(records, columns);
        }
        catch (InvalidDataException e)
        {
            throw new TrainingRefusedException($"source '{sourceName}': a requested column name matches several columns (differing only in case)", e);
        }
    }

    private static double Feature(string? text, long row, string column, double bound)
    {
        var value = Number(text, row, column);
        if (Math.Abs(value) > bound)
        {
            throw new TrainingRefusedException(string.Create(CultureInfo.InvariantCulture, $"row {row}, column '{column}': the value is outside ±FeatureBound = {bound:G6}"));
        }

        return value;
    }

    private static double BinaryLabel(string? text, long row, string column, string trainer)
    {
        var trimmed = text?.Trim();
        if (string.Equals(trimmed, "true", StringComparison.OrdinalIgnoreCase)) return 1;
        if (string.Equals(trimmed, "false", StringComparison.OrdinalIgnoreCase)) return 0;
        var value = Number(text, row, column);
        return value is 0 or 1
            ? value
            : throw new TrainingRefusedException($"row {row}, column '{column}': trainer '{trainer}' needs labels 0 or 1 (or true/false)");
    }

    // Messages never contain the value: they are sent to the modeller.
    private static double Number(string? text, long row, string column)
    {
        if (text is null) throw new TrainingRefusedException($"row {row}, column '{column}': the value is NULL");
        if (string.IsNullOrWhiteSpace(text)) throw new TrainingRefusedException($"row {row}, column '{column}': the value is empty");
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new TrainingRefusedException($"row {row}, column '{column}': the value is not a number");
        }

        return double.IsFinite(value) ? value : throw new TrainingRefusedException($"row {row}, column '{column}': the value is not a finite number");
    }
}
