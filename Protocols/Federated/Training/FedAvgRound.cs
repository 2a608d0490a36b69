using System.Globalization;
using Smpc.Contracts;

namespace Smpc.Protocols.Federated.Training;

/// <summary>
/// One round of federated averaging (McMahan et al., 2017) over secure aggregation.
/// </summary>
/// <remarks>
/// 1. The modeller sends every pod (sealed) <see cref="TrainingBroadcast"/> r: the global θ_r and the pooled mean/std.
/// 2. Pod i standardises its rows, computes its mean loss Lᵢ at θ_r, trains LocalEpochs passes from θ_r to θᵢ and
///    submits [nᵢθᵢ, nᵢ, nᵢLᵢ] (<see cref="PodUpdate"/>). It refuses rather than clips: a θᵢ outside ±ParameterBound, a
///    loss above the trainer's bound or anything non-finite ends its participation with a reason.
/// 3. The modeller receives only the sums and computes θ_{r+1} = Σnᵢθᵢ / Σnᵢ and the pooled loss ΣnᵢLᵢ / Σnᵢ
///    (<see cref="Average"/>); it stops after Rounds rounds or when ‖θ_{r+1} − θ_r‖ / max(1, ‖θ_r‖) &lt; Tolerance.
/// The modeller learns each round's sample-weighted average update and pooled loss, not any pod's; each pod learns the
/// broadcast θ (the average of the previous round) and the standardisation.
/// </remarks>
public static class FedAvgRound
{
    /// <summary>Field: Σ nᵢθᵢ, the sample-weighted local parameters.</summary>
    public const string WeightedField = "weighted";

    /// <summary>Field: Σ nᵢ, the sample count.</summary>
    public const string SamplesField = "samples";

    /// <summary>Field: Σ nᵢLᵢ, the pods' total loss at the round's global parameters.</summary>
    public const string LossField = "loss";

    /// <summary>
    /// The largest mean loss a pod reports, max(2·FeatureBound², 28). It covers the linear loss ½(ŷ − y)² while predictions
    /// stay within the labels' range ±FeatureBound (|ŷ − y| ≤ 2·FeatureBound), and the clamped log loss (at most
    /// −ln 10⁻¹² ≈ 27.6 per row). It sizes the <c>loss</c> field; a pod whose loss is above it refuses (the model has
    /// diverged). Plug-in trainers must keep their mean loss within it.
    /// </summary>
    public static double SampleLossBound(TrainingRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Math.Max(2 * request.FeatureBound * request.FeatureBound, 28);
    }

    /// <summary>
    /// The round's fields, in vector order: <c>weighted</c> [p] (±ParameterBound·MaxSamplesPerPod, precision ≥ 10⁶),
    /// <c>samples</c> [1] (exact, [0, MaxSamplesPerPod]) and <c>loss</c> [1] ([0, MaxSamplesPerPod·<see cref="SampleLossBound"/>],
    /// precision ≥ 10²), each at the finest power-of-ten precision (at most 10¹⁰) that sums safely over 50 pods.
    /// </summary>
    /// <param name="request">The session's request.</param>
    /// <param name="parameterCount">p, the trainer's parameter count for the request's features.</param>
    /// <exception cref="ArgumentException">The request is malformed, or its bounds are too large to encode; the message says which to lower.</exception>
    public static IReadOnlyList<AggregationFieldRequest> Fields(TrainingRequest request, int parameterCount)
    {
        TrainingRequests.Validate(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(parameterCount, 1);
        var n = (double)request.MaxSamplesPerPod;
        var weighted = request.ParameterBound * n;
        return
        [
            FieldSizing.Real(WeightedField, parameterCount, -weighted, weighted, 1_000_000, "lower ParameterBound or MaxSamplesPerPod"),
            FieldSizing.Integer(SamplesField, 1, 0, request.MaxSamplesPerPod, "lower MaxSamplesPerPod"),
            FieldSizing.Real(LossField, 1, 0, SampleLossBound(request) * n, 100, "lower MaxSamplesPerPod or FeatureBound (which bounds the loss)"),
        ];
    }

    /// <summary>A pod's round: loss at the broadcast θ, local training from it, and the input laid out as <see cref="Fields"/>.</summary>
    /// <param name="trainer">The request's trainer.</param>
    /// <param name="theta">The broadcast global parameters of this round.</param>
    /// <param name="standardised">The pod's rows, standardised with the broadcast mean/std.</param>
    /// <param name="request">The session's request (bounds and schedule).</param>
    /// <param name="round">The round number (1-based); it seeds the batch shuffle.</param>
    /// <exception cref="TrainingRefusedException">The broadcast or the local result is out of bounds or non-finite; nothing is clipped.</exception>
    public static PodRoundUpdate PodUpdate(ILocalTrainer trainer, ReadOnlySpan<double> theta, TrainingData standardised, TrainingRequest request, int round)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(standardised);
        if (TrainingRequests.Problem(request) is { } problem) throw new TrainingRefusedException(problem);
        var p = trainer.ParameterCount(standardised.FeatureCount);
        var n = standardised.Count;
        if (n < 1) throw new TrainingRefusedException("the pod has no rows to train on");
        if (n > request.MaxSamplesPerPod) throw new TrainingRefusedException($"the pod has more than MaxSamplesPerPod = {request.MaxSamplesPerPod} rows");
        if (theta.Length != p) throw new TrainingRefusedException($"round {round}: the broadcast has {theta.Length} parameters; {trainer.Name} on {standardised.FeatureCount} features has {p}");
        CheckParameters(theta, request.ParameterBound, $"round {round}: the broadcast parameters");

        var loss = trainer.Loss(theta, standardised);
        var maxLoss = SampleLossBound(request);
        if (!double.IsFinite(loss) || loss < 0) throw new TrainingRefusedException($"round {round}: the loss at the broadcast parameters is not a finite non-negative number");
        if (loss > maxLoss)
        {
            throw new TrainingRefusedException(string.Create(
                CultureInfo.InvariantCulture,
                $"round {round}: the mean loss at the broadcast parameters exceeds the loss bound of {maxLoss:G6}; the model has diverged (lower LearningRate)"));
        }

        var local = trainer.Fit(theta, standardised, new LocalFitOptions(request.LearningRate, request.LocalEpochs, request.BatchSize, round));
        if (local.Length != p) throw new TrainingRefusedException($"round {round}: trainer {trainer.Name} returned {local.Length} parameters, not {p}");
        CheckParameters(local, request.ParameterBound, $"round {round}: the locally trained parameters");

        var input = new double[p + 2];
        for (var j = 0; j < p; j++) input[j] = n * local[j];
        input[p] = n;
        input[p + 1] = n * loss;
        return new PodRoundUpdate(input, loss, local);
    }

    /// <summary>The next global θ = Σnᵢθᵢ / Σnᵢ, the pooled mean loss ΣnᵢLᵢ / Σnᵢ and Σnᵢ, from the round's summed fields (field name → sum).</summary>
    /// <exception cref="ArgumentException">A field is missing or the sample count is zero.</exception>
    public static RoundAverage Average(IReadOnlyDictionary<string, double[]> sums)
    {
        ArgumentNullException.ThrowIfNull(sums);
        var weighted = Sums.Vector(sums, WeightedField);
        var samples = (long)Math.Round(Sums.Scalar(sums, SamplesField));
        var loss = Sums.Scalar(sums, LossField);
        if (samples < 1) throw new ArgumentException("The round's sample count is zero: no pod contributed.", nameof(sums));
        var theta = new double[weighted.Length];
        for (var j = 0; j < theta.Length; j++) theta[j] = weighted[j] / samples;
        return new RoundAverage(theta, loss / samples, samples);
    }

    /// <summary>True when ‖next − previous‖ / max(1, ‖previous‖) &lt; <paramref name="tolerance"/>.</summary>
    public static bool Converged(ReadOnlySpan<double> previous, ReadOnlySpan<double> next, double tolerance)
    {
        if (previous.Length != next.Length) throw new ArgumentException($"θ changed length from {previous.Length} to {next.Length}.", nameof(next));
        double change = 0, size = 0;
        for (var j = 0; j < previous.Length; j++)
        {
            var delta = next[j] - previous[j];
            change += delta * delta;
            size += previous[j] * previous[j];
        }

        return Math.Sqrt(change) / Math.Max(1, Math.Sqrt(size)) < tolerance;
    }

    // Refuses (never clips): a clipped update would silently be a different model from the one the pod trained.
    private static void CheckParameters(ReadOnlySpan<double> theta, double bound, string what)
    {
        foreach (var value in theta)
        {
            if (!double.IsFinite(value)) throw new TrainingRefusedException($"{what} are not all finite numbers; the model has diverged (lower LearningRate)");
            if (Math.Abs(value) > bound) throw new TrainingRefusedException(string.Create(CultureInfo.InvariantCulture, $"{what} exceed ParameterBound = {bound:G6}; raise ParameterBound or lower LearningRate"));
        }
    }
}
