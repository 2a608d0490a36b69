namespace Smpc.Protocols.SecureAggregation;

/// <summary>Step 4 reply: a survivor's shares (self-mask seeds of survivors, mask keys of dropped pods), sealed to the modeller.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Party">The responding survivor.</param>
/// <param name="Ciphertext">A <see cref="Crypto.SealedBox"/> to the modeller's session key; the service cannot open it.</param>
public sealed record UnmaskResponse(string SessionId, int Party, byte[] Ciphertext)
{
    /// <summary>Parses the binary form: 01 05 ‖ session ‖ BE32 party ‖ BE32 length ‖ ciphertext.</summary>
    public static UnmaskResponse Parse(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data, "unmask response");
        r.Header(WireFormat.UnmaskResponseType);
        var response = new UnmaskResponse(r.String(), r.Int32(), r.LengthPrefixed());
        r.ExpectEnd();
        return response;
    }

    /// <summary>The binary form.</summary>
    public byte[] ToBytes() =>
        new WireWriter().Byte(WireFormat.Version).Byte(WireFormat.UnmaskResponseType).String(SessionId).Int32(Party)
            .LengthPrefixed(Ciphertext).ToArray();
}
