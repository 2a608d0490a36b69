namespace Smpc.Protocols.Randomness;

/// <summary>Source of cryptographic randomness injected into every protocol step that needs it.</summary>
public interface IRandomSource
{
    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    void Fill(Span<byte> destination);
}
