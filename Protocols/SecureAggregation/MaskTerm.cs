namespace Smpc.Protocols.SecureAggregation;

/// <summary>One mask stream to add to (or subtract from) a vector: PRG(seed) under a context.</summary>
/// <param name="Seed">The 32-byte seed (b_i or s_ij); secret.</param>
/// <param name="Context">The PRG context from <see cref="MaskContext"/>.</param>
/// <param name="Subtract">True to subtract the stream, false to add it.</param>
public sealed record MaskTerm(byte[] Seed, byte[] Context, bool Subtract);
