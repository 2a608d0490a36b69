using System.Security.Cryptography;

namespace Smpc.Protocols.Randomness;

/// <summary>The production randomness: the operating system's CSPRNG via <see cref="RandomNumberGenerator"/>.</summary>
public sealed class SystemRandomSource : IRandomSource
{
    private SystemRandomSource()
    {
    }

    /// <summary>The single shared instance (thread-safe).</summary>
    public static SystemRandomSource Instance { get; } = new();

    /// <inheritdoc />
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
