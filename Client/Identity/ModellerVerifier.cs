using System.Collections.Concurrent;
using Smpc.Contracts;
using Smpc.Protocols;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Signatures;

namespace Smpc.Client.Identity;

/// <summary>
/// The pod's check of a session before its first protocol step: the modeller's identity key from the registry, held to
/// the pin in <see cref="PinStore"/> (configured, or first use announced loudly; a change is a hard stop), and its
/// signature over the session statement recomputed from the session as served. Once a session verified, every later copy
/// the service serves must give the same statement byte for byte, so a service cannot verify one copy and act on another.
/// </summary>
public sealed class ModellerVerifier(SmpcClient client, PinStore pins)
{
    private readonly ConcurrentDictionary<(string Tenant, string Session), (byte[] Statement, VerifiedModeller Modeller, byte[] Key)> verified = new();

    /// <summary>The pin store identities are held to.</summary>
    public PinStore Pins => pins;

    /// <summary>Verifies <paramref name="session"/>; throws <see cref="UnverifiedSessionException"/> naming the reason.</summary>
    public async Task<VerifiedModeller> VerifyAsync(SessionResponse session, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        byte[] statement;
        try
        {
            statement = ModellerStatements.Session(session);
        }
        catch (Exception ex) when (ex is ProtocolException or ArgumentException or FormatException or InvalidOperationException)
        {
            throw Refuse(session, UnverifiedReasons.Malformed, $"its parameters as served are not a valid statement ({ex.Message})");
        }

        var key = (session.Tenant, session.Id);
        if (verified.TryGetValue(key, out var known))
        {
            if (!known.Statement.AsSpan().SequenceEqual(statement))
                throw Refuse(session, UnverifiedReasons.Changed, "the service now serves other parameters than the ones the modeller signed and this pod verified");
            return known.Modeller;
        }

        if (session.ModellerSignature is not { } encoded)
            throw Refuse(session, UnverifiedReasons.Unsigned, $"it carries no signature of modeller {session.ModellerId}");
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            throw Refuse(session, UnverifiedReasons.BadSignature, "its modeller signature is not base64");
        }

        var member = await client.GetModellerAsync(session.Tenant, session.ModellerId, ct);
        if (member.IdentityPublicKey is not { } presentedKey)
            throw Refuse(session, UnverifiedReasons.NoIdentity, $"modeller {session.ModellerId} has no identity key (register it with one: smpc modeller add --identity-public-key)");
        byte[] publicKey;
        try
        {
            publicKey = Convert.FromBase64String(presentedKey);
        }
        catch (FormatException)
        {
            throw Refuse(session, UnverifiedReasons.NoIdentity, $"the registry's identity key of modeller {session.ModellerId} is not base64");
        }

        string pinned;
        try
        {
            // The fingerprint is computed here from the key itself: the registry's own fingerprint field is not trusted.
            pinned = pins.Resolve(session.Tenant, PinKinds.Modeller, session.ModellerId, KeyFingerprint.Compute(publicKey));
        }
        catch (PinMismatchException ex)
        {
            throw Refuse(session, UnverifiedReasons.PinMismatch, ex.Message);
        }

        if (!KeyFingerprint.Matches(pinned, publicKey))
            throw Refuse(session, UnverifiedReasons.PinMismatch, $"modeller {session.ModellerId}'s key does not match its pin {pinned}");
        if (!Ed25519KeyPair.Verify(publicKey, statement, signature))
            throw Refuse(session, UnverifiedReasons.BadSignature,
                $"the signature does not verify with modeller {session.ModellerId}'s pinned identity {pinned} over the session as served (the service changed it, or the modeller did not sign it)");
        var modeller = new VerifiedModeller(session.Tenant, session.ModellerId, pinned) { IdentityKey = publicKey.ToArray() };
        verified[key] = (statement, modeller, publicKey);
        return modeller;
    }

    /// <summary>
    /// Whether a cancelled session's cancel carries a valid signature of the modeller whose session statement this pod
    /// verified (the cancel statement of docs/protocols/signatures.md). False: the service, not the modeller, ended it
    /// (or the admin did). A pod stops either way — the service can always stop relaying — but says which it was.
    /// </summary>
    public bool CancelledByModeller(SessionResponse session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.Cancellation is not { Signature: { } encoded } c || !verified.TryGetValue((session.Tenant, session.Id), out var known)) return false;
        try
        {
            return c.By == known.Modeller.Id
                && Ed25519KeyPair.Verify(known.Key, ModellerStatements.Cancel(session.Tenant, session.Id, c.SignedReason), Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static UnverifiedSessionException Refuse(SessionResponse session, string reason, string detail) =>
        new(session, reason, $"session {session.Id}: refused, modeller signature {reason}: {detail}");
}
