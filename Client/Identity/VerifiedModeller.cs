namespace Smpc.Client.Identity;

/// <summary>
/// A modeller whose signature of a session verified against its pinned identity: its id (bound to the key by the
/// signature and the pin) and the pinned fingerprint. Allow-lists are checked against this, never against a bare name.
/// </summary>
public sealed record VerifiedModeller(string Tenant, string Id, string Fingerprint)
{
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
