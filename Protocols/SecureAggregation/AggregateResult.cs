using Smpc.Protocols.Encoding;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>The unmasked aggregate: Σ_{i∈U3} encode(x_i), with decoded sums, means and weighted means per field.</summary>
public sealed class AggregateResult
{
    private readonly FixedPointCodec codec;
    private readonly double[] decoded;

    internal AggregateResult(FixedPointCodec codec, ulong[] fieldSum, IReadOnlyList<int> includedParties)
    {
        this.codec = codec;
        FieldSum = fieldSum;
        IncludedParties = includedParties;
        decoded = codec.Decode(fieldSum);
    }

    /// <summary>The sum as field elements (exact).</summary>
    public IReadOnlyList<ulong> FieldSum { get; }

    /// <summary>U3: the parties whose inputs are in the sum.</summary>
    public IReadOnlyList<int> IncludedParties { get; }

    /// <summary>Decoded sum of the named field.</summary>
    public double[] Sum(string field)
    {
        var (offset, length) = Locate(field);
        return decoded.AsSpan(offset, length).ToArray();
    }

    /// <summary>Exact sum of an integer field (precision 1).</summary>
    public long[] SumInteger(string field)
    {
        var index = codec.Layout.IndexOf(field);
        if (!codec.Layout.Fields[index].IsInteger)
        {
            throw new ArgumentException($"field '{field}' is not an integer field", nameof(field));
        }

        var offset = codec.Layout.OffsetOf(index);
        var result = new long[codec.Layout.Fields[index].Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = codec.DecodeInteger(FieldSum[offset + i]);
        }

        return result;
    }

    /// <summary>Sum divided by the number of included parties.</summary>
    public double[] Mean(string field) => [.. Sum(field).Select(v => v / IncludedParties.Count)];

    /// <summary>Σ w_i·x_i / Σ w_i, where pods submitted w·x in <paramref name="weightedValueField"/> and w in <paramref name="weightField"/> (length 1 or equal).</summary>
    public double[] WeightedMean(string weightedValueField, string weightField)
    {
        var values = Sum(weightedValueField);
        var weights = Sum(weightField);
        if (weights.Length != 1 && weights.Length != values.Length)
        {
            throw new ArgumentException("the weight field must have length 1 or the value field's length", nameof(weightField));
        }

        return [.. values.Select((v, i) => v / weights[weights.Length == 1 ? 0 : i])];
    }

    private (int Offset, int Length) Locate(string field)
    {
        var index = codec.Layout.IndexOf(field);
        return (codec.Layout.OffsetOf(index), codec.Layout.Fields[index].Length);
    }
}
