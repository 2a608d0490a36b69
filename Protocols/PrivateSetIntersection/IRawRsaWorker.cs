namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>One thread's raw RSA private-key operation s = m^d mod n (not thread-safe; one per thread).</summary>
internal interface IRawRsaWorker : IDisposable
{
    /// <summary>Computes I2OSP(OS2IP(input)^d mod n, k); input is k bytes and &lt; n.</summary>
    void Sign(ReadOnlySpan<byte> input, Span<byte> output);
}
