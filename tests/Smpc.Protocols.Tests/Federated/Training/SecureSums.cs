using Smpc.Contracts;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.Tests.Federated.Training;

/// <summary>What secure aggregation hands the modeller, without the service: each input encoded by the session's codec (sized for 50 pods), summed in Z_q, decoded, split by field.</summary>
internal static class SecureSums
{
    public const int Parties = SessionLimits.MaxFederatedPods;

    public static FixedPointCodec Codec(IReadOnlyList<AggregationFieldRequest> fields) =>
        new(PrimeField.Default, new VectorLayout(fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision ?? FieldSpec.DefaultPrecision, f.Min, f.Max))), Parties);

    public static IReadOnlyDictionary<string, double[]> Of(IReadOnlyList<AggregationFieldRequest> fields, IEnumerable<double[]> inputs)
    {
        var codec = Codec(fields);
        var sum = new ulong[codec.Layout.Length];
        foreach (var input in inputs)
        {
            var encoded = codec.Encode(input);
            for (var i = 0; i < sum.Length; i++) sum[i] = codec.Field.Add(sum[i], encoded[i]);
        }

        var decoded = codec.Decode(sum);
        return Enumerable.Range(0, codec.Layout.Fields.Count).ToDictionary(
            i => codec.Layout.Fields[i].Name,
            i => decoded.AsSpan(codec.Layout.OffsetOf(i), codec.Layout.Fields[i].Length).ToArray());
    }
}
