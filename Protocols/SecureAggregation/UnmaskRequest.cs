using System.Security.Cryptography;

namespace Smpc.Protocols.SecureAggregation;

/// <summary>Step 4 message from the service: who sent shares (U2) and whose masked input is in the sum (U3 ⊆ U2).</summary>
/// <param name="SessionId">The session.</param>
/// <param name="ShareSenders">U2: parties whose share envelopes were delivered (their pairwise masks are in every y_i).</param>
/// <param name="Survivors">U3: parties whose complete masked input is in the sum; at least t.</param>
public sealed record UnmaskRequest(string SessionId, int[] ShareSenders, int[] Survivors)
{
    /// <summary>Parses the binary form: 01 04 ‖ session ‖ BE32 |U2| ‖ U2 ‖ BE32 |U3| ‖ U3, each list BE32 strictly ascending (else Malformed).</summary>
    public static UnmaskRequest Parse(ReadOnlySpan<byte> data)
    {
        var r = new WireReader(data, "unmask request");
        r.Header(WireFormat.UnmaskRequestType);
        var request = new UnmaskRequest(r.String(), r.Parties(), r.Parties());
        r.ExpectEnd();

        // The canonical form is the only form: the digest responses are bound to is computed over exactly these bytes.
        if (!StrictlyAscending(request.ShareSenders) || !StrictlyAscending(request.Survivors))
        {
            throw r.Malformed("party lists must be strictly ascending");
        }

        return request;
    }

    /// <summary>The binary form (party lists sorted ascending).</summary>
    public byte[] ToBytes() =>
        new WireWriter().Byte(WireFormat.Version).Byte(WireFormat.UnmaskRequestType).String(SessionId)
            .Parties([.. ShareSenders.Order()]).Parties([.. Survivors.Order()]).ToArray();

    /// <summary>SHA-256 of the canonical binary form; binds responses to exactly this request.</summary>
    public byte[] Digest() => SHA256.HashData(ToBytes());

    private static bool StrictlyAscending(int[] parties)
    {
        for (var k = 1; k < parties.Length; k++)
        {
            if (parties[k] <= parties[k - 1])
            {
                return false;
            }
        }

        return true;
    }
}
