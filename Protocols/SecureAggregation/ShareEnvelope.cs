namespace Smpc.Protocols.SecureAggregation;

/// <summary>Step 2 message: party <paramref name="From"/>'s Shamir shares for <paramref name="To"/>, sealed to To's seal key.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="From">The owner of the shared secrets.</param>
/// <param name="To">The holder the envelope is sealed to.</param>
/// <param name="Ciphertext">A <see cref="Crypto.SealedBox"/>; the service relays it unopened.</param>
public sealed record ShareEnvelope(string SessionId, int From, int To, byte[] Ciphertext)
{
    /// <summary>Parses the binary form: 01 02 ‖ session ‖ BE32 from ‖ BE32 to ‖ BE32 length ‖ ciphertext.</summary>
    public static ShareEnvelope Parse(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data, "share envelope");
        r.Header(WireFormat.ShareEnvelopeType);
        var envelope = new ShareEnvelope(r.String(), r.Int32(), r.Int32(), r.LengthPrefixed());
        r.ExpectEnd();
        return envelope;
    }

    /// <summary>The binary form.</summary>
    public byte[] ToBytes() =>
        new WireWriter().Byte(WireFormat.Version).Byte(WireFormat.ShareEnvelopeType).String(SessionId).Int32(From).Int32(To)
            .LengthPrefixed(Ciphertext).ToArray();
}
