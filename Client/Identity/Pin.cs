namespace Smpc.Client.Identity;

/// <summary>
/// One pinned identity: the fingerprint (<c>sha256:</c> + hex) a member of a tenant must present, where it came from
/// (<c>configured</c>, <c>added</c> by hand, or <c>first-use</c>) and when it was pinned.
/// </summary>
public sealed record Pin(string Tenant, string Kind, string Id, string Fingerprint, string Source, DateTimeOffset PinnedAt);
