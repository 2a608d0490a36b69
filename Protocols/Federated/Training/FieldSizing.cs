using System.Globalization;
using Smpc.Contracts;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.Federated.Training;

// Sizes the secure-aggregation fields of training rounds. The rule is FixedPointCodec's: a field of bound B at precision
// p is safe for n parties iff n · ⌈B · p⌉ ≤ (q − 1)/2, q = 2^61 − 1. Training fields are sized for the most parties a
// session can have, so one layout serves every session, and get the finest power-of-ten precision that fits (at most
// 10^10, the codec's default); below a floor per field the result would be too coarse to train on, and the request is refused.
internal static class FieldSizing
{
    private const long MaxPrecision = 10_000_000_000;

    public static AggregationFieldRequest Real(string name, int length, double min, double max, long minPrecision, string remedy)
    {
        var bound = Math.Max(Math.Abs(min), Math.Abs(max));
        for (var precision = MaxPrecision; precision >= minPrecision; precision /= 10)
        {
            if (Fits(bound, precision)) return new AggregationFieldRequest(name, length, min, max, precision);
        }

        throw new ArgumentException(string.Create(
            CultureInfo.InvariantCulture,
            $"Training request: field '{name}' would need values up to {bound:G6} at a precision of at least {minPrecision}, which " +
            $"cannot be summed over {SessionLimits.MaxFederatedPods} pods without overflowing the field (2^61 − 1); {remedy}."), "request");
    }

    public static AggregationFieldRequest Integer(string name, int length, long min, long max, string remedy) =>
        Fits(Math.Max(Math.Abs((double)min), Math.Abs((double)max)), 1)
            ? new AggregationFieldRequest(name, length, min, max, 1)
            : throw new ArgumentException(
                $"Training request: field '{name}' would need integers up to {Math.Max(Math.Abs(min), Math.Abs(max))}, which cannot be summed over {SessionLimits.MaxFederatedPods} pods without overflowing the field (2^61 − 1); {remedy}.",
                "request");

    // Exactly FixedPointCodec's test, so a field that passes here is accepted there.
    private static bool Fits(double bound, long precision)
    {
        var scaled = Math.Ceiling(bound * precision);
        return scaled < 9.2e18 && (UInt128)(ulong)scaled * SessionLimits.MaxFederatedPods <= PrimeField.Default.MaxSigned;
    }
}
