namespace Smpc.Protocols.SecretSharing;

/// <summary>One Shamir share: the evaluation point (the holder's party index, 1..255) and one byte per secret byte.</summary>
/// <param name="Index">The x-coordinate; equals the holder's party index so shares cannot be swapped unnoticed.</param>
/// <param name="Value">f(Index) for each byte position of the secret.</param>
public sealed record ShamirShare(byte Index, byte[] Value);
