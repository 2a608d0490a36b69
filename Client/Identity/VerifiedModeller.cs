namespace Smpc.Client.Identity;

/// <summary>
/// A modeller whose signature of a session verified against its pinned identity: its id (bound to the key by the
/// signature and the pin) and the pinned fingerprint. Allow-lists are checked against this, never against a bare name.
/// </summary>
public sealed record VerifiedModeller(string Tenant, string Id, string Fingerprint)
{
    /// <summary>
    /// The identity public key that matched the pin and verified the session's signature (empty when not known): later
    /// modeller-signed messages of the session (federated content-key seals, releases) are verified against exactly this key.
    /// </summary>
    public ReadOnlyMemory<byte> IdentityKey { get; init; }

    /// <summary>
    /// Whether an allow-list admits this modeller: an empty list admits every verified modeller; an entry is either a
    /// fingerprint (<c>sha256:…</c>, matched against the pinned key) or a modeller id (matched because its key is pinned).
    /// </summary>
    public bool IsAllowedBy(IReadOnlyCollection<string>? entries) =>
        entries is null || entries.Count == 0 || entries.Any(e =>
            e.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase)
                ? string.Equals(e.Trim(), Fingerprint, StringComparison.OrdinalIgnoreCase)
                : string.Equals(e, Id, StringComparison.Ordinal));
}
