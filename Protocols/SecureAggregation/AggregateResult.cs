using Smpc.Protocols.Encoding;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>The unmasked aggregate: Σ_{i∈U3} encode(x_i), with decoded sums and means per field (weighted means: <see cref="WeightedMeanLayout.Decode"/>).</summary>
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

    private (int Offset, int Length) Locate(string field)
    {
        var index = codec.Layout.IndexOf(field);
        return (codec.Layout.OffsetOf(index), codec.Layout.Fields[index].Length);
    }
}
