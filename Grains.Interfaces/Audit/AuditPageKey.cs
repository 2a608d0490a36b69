using System.Globalization;
using Smpc.Grains.Interfaces.Keys;

namespace Smpc.Grains.Interfaces.Audit;

/// <summary>
/// The key of one stored page of a tenant's audit log, <c>"{tenant}/{page}"</c>: page p holds sequence numbers
/// p·<see cref="EntriesPerPage"/> + 1 through (p + 1)·<see cref="EntriesPerPage"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.audit-page-key")]
public readonly record struct AuditPageKey
{
    /// <summary>Entries per stored page: grain state is rewritten whole, so the log is kept as many small pages, never one growing list.</summary>
    public const int EntriesPerPage = 256;

    [Id(0)] public string Tenant { get; }
    [Id(1)] public long Page { get; }

    /// <summary>Creates a page key, validating the tenant id.</summary>
    public AuditPageKey(string tenant, long page)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(page);
        if (!EntityKey.IsValidId(tenant)) throw new ArgumentException($"'{tenant}' is not a valid tenant id.", nameof(tenant));
        Tenant = tenant;
        Page = page;
    }

    /// <summary>The page that holds sequence number <paramref name="sequence"/> (1-based).</summary>
    public static AuditPageKey For(string tenant, long sequence) => new(tenant, PageOf(sequence));

    /// <summary>The page number that holds sequence number <paramref name="sequence"/> (1-based).</summary>
    public static long PageOf(long sequence) => (sequence - 1) / EntriesPerPage;

    /// <summary>The first sequence number this page holds.</summary>
    public long FirstSequence => (Page * EntriesPerPage) + 1;

    /// <summary>The last sequence number this page holds.</summary>
    public long LastSequence => (Page + 1) * EntriesPerPage;

    /// <summary>Parses a grain key string.</summary>
    public static AuditPageKey Parse(string key)
    {
        var entity = EntityKey.Parse(key);
        return long.TryParse(entity.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var page)
            ? new AuditPageKey(entity.Tenant, page)
            : throw new FormatException($"'{key}' is not an audit page key.");
    }

    /// <summary>The grain key string.</summary>
    public override string ToString() => new EntityKey(Tenant, Page.ToString(CultureInfo.InvariantCulture)).ToString();
}
