using System.Globalization;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// The vector of a weighted mean Σ w_i·x_i / Σ w_i: each pod supplies x (the declared fields) and its weight w, and this
/// layout forms w·x exactly, so nobody pre-multiplies by hand.
/// </summary>
/// <remarks>
/// 1. x in field f (precision p_f, bounds [min_f, max_f]) and w (precision p_w, bounds [w_min, w_max], w_min &gt; 0) are
///    checked separately: finite and within their own bounds, else refused naming the field or "weight", never the value.
///    w must be a multiple of 1/p_w: a weight is refused, never silently rounded.
/// 2. X = round_half_even(x · p_f); W = w · p_w, an integer ≥ 1.
/// 3. The wire element of f is X·W mod q: w·x in fixed point at precision p_f·p_w, exact. One extra element, the field
///    <see cref="WeightFieldName"/> (precision p_w, bounds [w_min, w_max]), carries W. Wire order: the x fields, then weight.
/// 4. At creation it proves no sum wraps: n · max|X·W| ≤ (q − 1)/2 for every field, else
///    <see cref="ProtocolError.BoundsExceedFieldRange"/> naming the field, its bound, both precisions and the weight's maximum.
/// 5. The modeller's sums S_f = Σ X_i·W_i and S_w = Σ W_i are exact integers: mean_f = S_f / (S_w · p_f), Σw = S_w / p_w.
/// </remarks>
public sealed class WeightedMeanLayout
{
    /// <summary>The name of the extra wire field that carries each pod's weight; a value field may not use it.</summary>
    public const string WeightFieldName = "weight";

    private readonly FieldSpec[] valueFields;
    private readonly long[] xMin;
    private readonly long[] xMax;
    private readonly long weightMin;
    private readonly long weightMax;

    /// <summary>Derives the wire layout for <paramref name="partyCount"/> pods; refuses a weight or shape whose w·x sum cannot fit Z_q.</summary>
    public WeightedMeanLayout(IEnumerable<FieldSpec> valueFields, WeightSpec weight, int partyCount, PrimeField? field = null)
    {
        ArgumentNullException.ThrowIfNull(valueFields);
        ArgumentNullException.ThrowIfNull(weight);
        this.valueFields = [.. valueFields];
        Weight = weight;
        Field = field ?? PrimeField.Default;
        var values = new VectorLayout(this.valueFields); // names, lengths, precisions and x bounds as for any field
        ValueLength = values.Length;
        if (this.valueFields.Any(f => f.Name == WeightFieldName))
        {
            throw new InputRejectedException(ProtocolError.InvalidParameters, WeightFieldName,
                $"field name '{WeightFieldName}' is reserved in a weighted mean: declare x in the fields and the weight's bounds separately; the pod agent appends w");
        }

        if (weight.Precision < 1 || !double.IsFinite(weight.Min) || !double.IsFinite(weight.Max) || weight.Min > weight.Max
            || !(weight.Min > 0) || Math.Round(weight.Min * weight.Precision, MidpointRounding.ToEven) < 1)
        {
            throw new InputRejectedException(ProtocolError.InvalidParameters, WeightFieldName, Invariant(
                $"weight bounds [{weight.Min:R}, {weight.Max:R}] at precision {weight.Precision} must be finite with 0 < min ≤ max and min ≥ 1/precision"));
        }

        if (!(weight.Max * weight.Precision < 9.2e18))
        {
            throw FitRefusal(WeightFieldName, $"weight maximum {weight.Max.ToString("R", CultureInfo.InvariantCulture)} at precision {weight.Precision} is beyond 64 bits");
        }

        weightMin = (long)Math.Ceiling((weight.Min * weight.Precision) - 1e-9);
        weightMax = (long)Math.Floor((weight.Max * weight.Precision) + 1e-9);
        var limit = (Int128)Field.MaxSigned;
        if ((Int128)weightMax * partyCount > limit)
        {
            throw FitRefusal(WeightFieldName, $"the weight's maximum summed over {partyCount} pods exceeds the field's signed range (q − 1)/2 = {Field.MaxSigned}");
        }

        xMin = new long[this.valueFields.Length];
        xMax = new long[this.valueFields.Length];
        var wire = new FieldSpec[this.valueFields.Length + 1];
        for (var fi = 0; fi < this.valueFields.Length; fi++)
        {
            var f = this.valueFields[fi];
            var bound = Math.Max(Math.Abs(f.Min), Math.Abs(f.Max));
            var precision = (Int128)f.Precision * weight.Precision;
            var scaledX = Math.Ceiling(bound * f.Precision);
            if (!(scaledX < 9.2e18) || precision > long.MaxValue || (Int128)(long)scaledX * weightMax * partyCount > limit)
            {
                throw FitRefusal(f.Name, Invariant($"field '{f.Name}': w·x reaches {bound:R} × {weight.Max:R} at precision {f.Precision} × {weight.Precision}, which summed over {partyCount} pods exceeds the field's signed range (q − 1)/2 = {Field.MaxSigned}; lower the field's precision or bounds, or the weight's maximum or precision"));
            }

            xMin[fi] = (long)Math.Round(f.Min * f.Precision, MidpointRounding.ToEven);
            xMax[fi] = (long)Math.Round(f.Max * f.Precision, MidpointRounding.ToEven);
            var lo = xMin[fi] >= 0 ? (Int128)xMin[fi] * weightMin : (Int128)xMin[fi] * weightMax;
            var hi = xMax[fi] >= 0 ? (Int128)xMax[fi] * weightMax : (Int128)xMax[fi] * weightMin;
            wire[fi] = new FieldSpec(f.Name, f.Length, (long)precision, Outward((long)lo, (long)precision, down: true), Outward((long)hi, (long)precision, down: false));
        }

        wire[^1] = new FieldSpec(WeightFieldName, 1, weight.Precision, weight.Min, weight.Max);
        WireLayout = new VectorLayout(wire);
    }

    /// <summary>The declared x fields, in order.</summary>
    public IReadOnlyList<FieldSpec> ValueFields => valueFields;

    /// <summary>The declared weight.</summary>
    public WeightSpec Weight { get; }

    /// <summary>The field Z_q the sums must fit.</summary>
    public PrimeField Field { get; }

    /// <summary>How many x values a pod supplies (the wire vector has one more element, the weight).</summary>
    public int ValueLength { get; }

    /// <summary>The layout the protocol runs on: each x field as w·x at precision p_f·p_w, then the weight field.</summary>
    public VectorLayout WireLayout { get; }

    /// <summary>Checks x and w against their own bounds and returns the encoded wire vector (X·W per element, then W).</summary>
    public ulong[] Encode(ReadOnlySpan<double> values, double weight)
    {
        if (values.Length != ValueLength)
        {
            throw new InputRejectedException(ProtocolError.Malformed, "*", $"expected {ValueLength} values of x (the weight is supplied separately), got {values.Length}");
        }

        var w = ScaledWeight(weight);
        var result = new ulong[ValueLength + 1];
        var offset = 0;
        for (var fi = 0; fi < valueFields.Length; fi++)
        {
            var f = valueFields[fi];
            double min = f.Min, max = f.Max, precision = f.Precision;
            for (var i = 0; i < f.Length; i++, offset++)
            {
                var v = values[offset];
                if (!(v >= min && v <= max))
                {
                    throw double.IsFinite(v)
                        ? new InputRejectedException(ProtocolError.ValueOutOfBounds, f.Name, Invariant($"field '{f.Name}': a value is outside its declared bounds [{f.Min:R}, {f.Max:R}]"))
                        : new InputRejectedException(ProtocolError.NonFiniteValue, f.Name, $"field '{f.Name}': a value is not a finite number");
                }

                var x = (long)Math.Round(v * precision, MidpointRounding.ToEven);
                result[offset] = Field.FromSigned(x * w); // |x·w| ≤ (q − 1)/2 / n, proven at construction
            }
        }

        result[^1] = Field.FromSigned(w);
        return result;
    }

    /// <summary>Σw and, per x field, Σ w·x / Σ w, exactly from the unmasked integer sums.</summary>
    public WeightedMeanResult Decode(AggregateResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.FieldSum.Count != WireLayout.Length)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"expected {WireLayout.Length} summed elements, got {result.FieldSum.Count}");
        }

        var weightSum = (decimal)Field.ToSigned(result.FieldSum[^1]);
        var means = new Dictionary<string, decimal[]>(StringComparer.Ordinal);
        var offset = 0;
        foreach (var f in valueFields)
        {
            var mean = new decimal[f.Length];
            for (var i = 0; i < f.Length; i++, offset++)
            {
                mean[i] = (decimal)Field.ToSigned(result.FieldSum[offset]) / weightSum / f.Precision;
            }

            means[f.Name] = mean;
        }

        return new WeightedMeanResult(weightSum / Weight.Precision, means, result.IncludedParties);
    }

    private long ScaledWeight(double weight)
    {
        if (!double.IsFinite(weight))
        {
            throw new InputRejectedException(ProtocolError.NonFiniteValue, WeightFieldName, "the weight is not a finite number");
        }

        var scaled = weight * Weight.Precision;
        var w = Math.Round(scaled, MidpointRounding.ToEven);
        if (!(weight >= Weight.Min && weight <= Weight.Max) || w < weightMin || w > weightMax)
        {
            throw new InputRejectedException(ProtocolError.ValueOutOfBounds, WeightFieldName, Invariant($"the weight is outside its declared bounds [{Weight.Min:R}, {Weight.Max:R}]"));
        }

        if (Math.Abs(scaled - w) > 1e-9 * Math.Max(1, Math.Abs(w)))
        {
            throw new InputRejectedException(ProtocolError.ValueOutOfBounds, WeightFieldName,
                $"the weight is not a multiple of 1/{Weight.Precision} (its declared precision); weights are never rounded");
        }

        return (long)w;
    }

    // The double bound nearest lo/p (or hi/p), moved outward until the codec's round(bound · p) covers the exact integer bound.
    private static double Outward(long exact, long precision, bool down)
    {
        var bound = (double)exact / precision;
        while (down ? (long)Math.Round(bound * precision, MidpointRounding.ToEven) > exact : (long)Math.Round(bound * precision, MidpointRounding.ToEven) < exact)
        {
            bound = down ? Math.BitDecrement(bound) : Math.BitIncrement(bound);
        }

        return bound;
    }

    private static InputRejectedException FitRefusal(string field, string message) => new(ProtocolError.BoundsExceedFieldRange, field, message);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
