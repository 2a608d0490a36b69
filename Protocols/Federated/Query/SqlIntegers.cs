namespace Smpc.Protocols.Federated.Query;

/// <summary>SQL result values as whole numbers: integral types, and integral floating-point or decimal values within a magnitude.</summary>
internal static class SqlIntegers
{
    /// <summary>The value as a long, or null if it is not a whole number (doubles and floats only up to <paramref name="maxFloatMagnitude"/>).</summary>
    public static long? From(object? value, double maxFloatMagnitude) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        sbyte b => b,
        byte b => b,
        ushort u => u,
        uint u => u,
        ulong u when u <= long.MaxValue => (long)u,
        double d when double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) <= maxFloatMagnitude => (long)d,
        float f when float.IsFinite(f) && f == MathF.Floor(f) && Math.Abs(f) <= maxFloatMagnitude => (long)f,
        decimal m when m == decimal.Truncate(m) && m >= long.MinValue && m <= long.MaxValue => (long)m,
        _ => null,
    };
}
