using System.Globalization;
using System.Runtime.CompilerServices;
using Smpc.Protocols.Field;

namespace Smpc.Protocols.Encoding;

/// <summary>
/// Fixed-point codec between doubles and field elements, per field of a <see cref="VectorLayout"/>.
/// </summary>
/// <remarks>
/// 1. A value v of field f is checked: finite, and f.Min ≤ v ≤ f.Max; otherwise refused, naming f.
/// 2. It is scaled and rounded to the nearest integer (ties to even): m = round(v · f.Precision).
/// 3. m is mapped into Z_q as m mod q (negative m becomes q − |m|).
/// 4. Decoding lifts a sum s ∈ Z_q to the centred range: s ≤ (q − 1)/2 is s, otherwise s − q; then divides by
///    the precision.
/// At construction the codec proves no sum can wrap: n · ⌈max(|Min|, |Max|) · Precision⌉ ≤ (q − 1)/2 for
/// every field, else it refuses the layout naming the field and the bound. Exact integers
/// (<see cref="EncodeInteger"/>) and already encoded vectors (CheckEncoded) are compared in the
/// integer domain against bounds derived from the same Min and Max, never through a lossy long → double cast.
/// Refusals name the field and its bounds, never the refused value (messages end up in logs).
/// </remarks>
public sealed class FixedPointCodec
{
    // Per field: the exact integer range EncodeInteger accepts, [⌈Min⌉, ⌊Max⌋], and the scaled range Encode
    // can produce, [round(Min · p), round(Max · p)]; both lie within the ±⌈max(|Min|, |Max|) · p⌉ of the proof.
    private readonly long[] integerMin;
    private readonly long[] integerMax;
    private readonly long[] scaledMin;
    private readonly long[] scaledMax;

    /// <summary>Creates a codec for <paramref name="partyCount"/> parties; refuses bounds that could overflow the field.</summary>
    public FixedPointCodec(PrimeField field, VectorLayout layout, int partyCount)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(layout);
        if (partyCount < 1)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "party count must be at least 1");
        }

        Field = field;
        Layout = layout;
        PartyCount = partyCount;
        integerMin = new long[layout.Fields.Count];
        integerMax = new long[layout.Fields.Count];
        scaledMin = new long[layout.Fields.Count];
        scaledMax = new long[layout.Fields.Count];
        for (var fi = 0; fi < layout.Fields.Count; fi++)
        {
            var f = layout.Fields[fi];
            var bound = Math.Max(Math.Abs(f.Min), Math.Abs(f.Max));
            var scaled = Math.Ceiling(bound * f.Precision);
            var limit = field.MaxSigned;
            if (!(scaled < 9.2e18) || (UInt128)(ulong)scaled * (ulong)partyCount > limit)
            {
                var boundText = bound.ToString("R", CultureInfo.InvariantCulture);
                throw new InputRejectedException(
                    ProtocolError.BoundsExceedFieldRange,
                    f.Name,
                    $"field '{f.Name}': bound {boundText} at precision {f.Precision} summed over {partyCount} parties " +
                    $"exceeds the field's signed range (q − 1)/2 = {limit}; lower the bound or the precision");
            }

            // Exact: every bound is below 2^62 in magnitude here, and a double of that size converts to long exactly.
            integerMin[fi] = (long)Math.Ceiling(f.Min);
            integerMax[fi] = (long)Math.Floor(f.Max);
            scaledMin[fi] = (long)Math.Round(f.Min * f.Precision, MidpointRounding.ToEven);
            scaledMax[fi] = (long)Math.Round(f.Max * f.Precision, MidpointRounding.ToEven);
        }
    }

    /// <summary>The field Z_q.</summary>
    public PrimeField Field { get; }

    /// <summary>The layout the codec encodes.</summary>
    public VectorLayout Layout { get; }

    /// <summary>The number of parties whose sum must fit.</summary>
    public int PartyCount { get; }

    /// <summary>Encodes a whole vector laid out as <see cref="Layout"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Encode(ReadOnlySpan<double> values, Span<ulong> destination)
    {
        if (values.Length != Layout.Length || destination.Length != Layout.Length)
        {
            throw new InputRejectedException(ProtocolError.Malformed, "*", $"expected {Layout.Length} values, got {values.Length}");
        }

        var q = Field.Modulus;
        for (var fi = 0; fi < Layout.Fields.Count; fi++)
        {
            var f = Layout.Fields[fi];
            var offset = Layout.OffsetOf(fi);
            var src = values.Slice(offset, f.Length);
            var dst = destination.Slice(offset, f.Length);
            double min = f.Min, max = f.Max, precision = f.Precision;
            for (var i = 0; i < src.Length; i++)
            {
                var v = src[i];
                if (!(v >= min && v <= max))
                {
                    throw Refuse(f, v);
                }

                var m = (long)Math.Round(v * precision, MidpointRounding.ToEven);

                // m mod q without a branch: add q when m is negative (|m| ≤ (q − 1)/2 by construction).
                dst[i] = (ulong)m + (q & (ulong)(m >> 63));
            }
        }
    }

    /// <summary>Encodes a vector into a new array.</summary>
    public ulong[] Encode(ReadOnlySpan<double> values)
    {
        var result = new ulong[Layout.Length];
        Encode(values, result);
        return result;
    }

    /// <summary>Encodes one value of field <paramref name="fieldIndex"/>.</summary>
    public ulong EncodeValue(int fieldIndex, double value)
    {
        var f = Layout.Fields[fieldIndex];
        if (!(value >= f.Min && value <= f.Max))
        {
            throw Refuse(f, value);
        }

        return Field.FromSigned((long)Math.Round(value * f.Precision, MidpointRounding.ToEven));
    }

    /// <summary>Encodes one exact integer of an integer field (precision 1).</summary>
    public ulong EncodeInteger(int fieldIndex, long value)
    {
        var f = Layout.Fields[fieldIndex];
        if (!f.IsInteger)
        {
            throw new InputRejectedException(ProtocolError.InvalidParameters, f.Name, $"field '{f.Name}' is not an integer field");
        }

        if (value < integerMin[fieldIndex] || value > integerMax[fieldIndex])
        {
            throw OutOfBounds(f);
        }

        return Field.FromSigned(value);
    }

    /// <summary>
    /// Refuses an encoded vector unless every element is canonical and its signed value lies in its field's scaled
    /// range [round(Min · p), round(Max · p)] — exactly what <see cref="Encode(ReadOnlySpan{double})"/> can produce.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void CheckEncoded(ReadOnlySpan<ulong> encoded)
    {
        if (encoded.Length != Layout.Length || !Field.AreCanonical(encoded))
        {
            throw new InputRejectedException(ProtocolError.Malformed, "*", $"encoded vector must have {Layout.Length} canonical elements");
        }

        for (var fi = 0; fi < Layout.Fields.Count; fi++)
        {
            var slice = encoded.Slice(Layout.OffsetOf(fi), Layout.Fields[fi].Length);
            long lo = scaledMin[fi], hi = scaledMax[fi];
            var q = (long)Field.Modulus;
            var maxSigned = (long)Field.MaxSigned;
            var outside = false;

            // No early exit: the time taken does not depend on which element (if any) is out of range.
            foreach (var element in slice)
            {
                // Field.ToSigned without a branch (elements are canonical, so below 2^63): subtract q when above (q − 1)/2.
                var e = (long)element;
                var v = e - (q & ((maxSigned - e) >> 63));
                outside |= (v < lo) | (v > hi);
            }

            if (outside)
            {
                throw OutOfBounds(Layout.Fields[fi]);
            }
        }
    }

    /// <summary>Decodes a summed vector to doubles (sums, not means).</summary>
    public double[] Decode(ReadOnlySpan<ulong> sum)
    {
        if (sum.Length != Layout.Length)
        {
            throw new MessageRejectedException(ProtocolError.Malformed, $"expected {Layout.Length} elements, got {sum.Length}");
        }

        var result = new double[sum.Length];
        for (var fi = 0; fi < Layout.Fields.Count; fi++)
        {
            var f = Layout.Fields[fi];
            var offset = Layout.OffsetOf(fi);
            double precision = f.Precision;
            for (var i = offset; i < offset + f.Length; i++)
            {
                result[i] = Field.ToSigned(sum[i]) / precision;
            }
        }

        return result;
    }

    /// <summary>Decodes a summed element as an exact signed integer (the scaled value for non-integer fields).</summary>
    public long DecodeInteger(ulong sumElement) => Field.ToSigned(sumElement);

    // The refused value is an input the party wants kept private: it is classified, never echoed.
    private static InputRejectedException Refuse(FieldSpec f, double v) =>
        double.IsFinite(v)
            ? OutOfBounds(f)
            : new InputRejectedException(ProtocolError.NonFiniteValue, f.Name, $"field '{f.Name}': a value is not a finite number");

    private static InputRejectedException OutOfBounds(FieldSpec f) =>
        new(ProtocolError.ValueOutOfBounds, f.Name, string.Create(CultureInfo.InvariantCulture, $"field '{f.Name}': a value is outside its declared bounds [{f.Min:R}, {f.Max:R}]"));
}
