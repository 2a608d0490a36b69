using Smpc.Grains.Interfaces.Access;

namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// A tenant's index of its sessions: one <see cref="SessionSummary"/> row per session, kept by the session grains after
/// each durable change (idempotent by version), listed with filters and a cursor. Keyed by tenant. The rows live in one
/// <see cref="ISessionIndexPageGrain"/> per month of creation; this grain keeps the months and the per-phase counts,
/// which it reports to the <see cref="ISessionCensusGrain"/>.
/// </summary>
[Alias("smpc.session-index")]
public interface ISessionIndexGrain : IGrainWithStringKey
{
    /// <summary>Service-internal: stores <paramref name="row"/> unless a row of the same or a newer version is stored.</summary>
    [Alias("upsert")] Task UpsertAsync(SessionSummary row);

    /// <summary>The sessions <paramref name="caller"/> may see that match <paramref name="query"/>, newest first.</summary>
    [Alias("list")] Task<SessionListPage> ListAsync(Caller caller, SessionListQuery query);

    /// <summary>The tenant's sessions per phase (exact), for usage and the census.</summary>
    [Alias("counts")] Task<IReadOnlyDictionary<SessionPhase, long>> GetCountsAsync();
}

/// <summary>The rows of one tenant's sessions created in one UTC month. Keyed <c>"{tenant}/{yyyy-MM}"</c>.</summary>
[Alias("smpc.session-index-page")]
public interface ISessionIndexPageGrain : IGrainWithStringKey
{
    /// <summary>Stores <paramref name="row"/> unless the stored row is as new; answers whether it did and the page's sessions per phase.</summary>
    [Alias("upsert")] Task<IndexUpsert> UpsertAsync(SessionSummary row);

    /// <summary>The page's sessions per phase.</summary>
    [Alias("counts")] Task<IReadOnlyDictionary<SessionPhase, long>> CountsAsync();

    /// <summary>Rows matching <paramref name="query"/> that sort after <paramref name="after"/> (newest first), at most <paramref name="limit"/>.</summary>
    [Alias("read")] Task<IReadOnlyList<SessionSummary>> ReadAsync(SessionListQuery query, string? visibleModeller, string? visiblePod, SessionCursor? after, int limit);

    /// <summary>The ids of the rows stored.</summary>
    [Alias("ids")] Task<IReadOnlyList<string>> IdsAsync();
}

/// <summary>What a page upsert did: whether the row was stored, and the page's sessions per phase after it.</summary>
[GenerateSerializer, Immutable, Alias("smpc.index-upsert")]
public sealed record IndexUpsert([property: Id(0)] bool Stored, [property: Id(1)] IReadOnlyDictionary<SessionPhase, long> Counts);

/// <summary>One session as the index lists it.</summary>
[GenerateSerializer, Immutable, Alias("smpc.session-summary")]
public sealed record SessionSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] SessionKind Kind,
    [property: Id(2)] SessionPhase Phase,
    [property: Id(3)] string ModellerId,
    [property: Id(4)] IReadOnlyList<string> PodIds,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset UpdatedAt,
    [property: Id(7)] DateTimeOffset? EndedAt,
    [property: Id(8)] int Version,
    [property: Id(9)] string? Parent)
{
    /// <summary>True once completed, failed or cancelled.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasEnded => Phase is SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Cancelled;

    /// <summary>The row of a session as its grain describes it.</summary>
    public static SessionSummary From(SessionInfo s) => new(s.Id, s.Kind, s.Phase, s.ModellerId, [.. s.PodIds], s.CreatedAt,
        s.UpdatedAt ?? s.CreatedAt, s.EndedAt ?? (s.Phase is SessionPhase.Completed or SessionPhase.Failed or SessionPhase.Cancelled ? s.UpdatedAt ?? s.CreatedAt : null),
        s.Version, s.Parent);

    /// <summary>The order of lists: newest first, then id.</summary>
    public static int Compare(SessionSummary a, SessionSummary b)
    {
        var byTime = b.CreatedAt.CompareTo(a.CreatedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.Id, b.Id);
    }

    /// <summary>True when this row sorts after <paramref name="cursor"/>.</summary>
    public bool IsAfter(SessionCursor cursor) =>
        CreatedAt.UtcTicks < cursor.CreatedAtTicks || CreatedAt.UtcTicks == cursor.CreatedAtTicks && string.CompareOrdinal(Id, cursor.Id) > 0;
}

/// <summary>Where a list stopped: the last row returned (creation time in UTC ticks, id).</summary>
[GenerateSerializer, Immutable, Alias("smpc.session-cursor")]
public sealed record SessionCursor([property: Id(0)] long CreatedAtTicks, [property: Id(1)] string Id);

/// <summary>A session list's filters (all optional; each narrows what the caller may see).</summary>
[GenerateSerializer, Immutable, Alias("smpc.session-list-query")]
public sealed record SessionListQuery(
    [property: Id(0)] SessionKind? Kind = null,
    [property: Id(1)] IReadOnlyList<SessionPhase>? Phases = null,
    [property: Id(2)] string? Modeller = null,
    [property: Id(3)] string? Pod = null,
    [property: Id(4)] DateTimeOffset? CreatedAfter = null,
    [property: Id(5)] DateTimeOffset? CreatedBefore = null,
    [property: Id(6)] DateTimeOffset? EndedAfter = null,
    [property: Id(7)] DateTimeOffset? EndedBefore = null,
    [property: Id(8)] int Limit = 100,
    [property: Id(9)] SessionCursor? Cursor = null)
{
    /// <summary>Most rows one page answers.</summary>
    public const int MaxLimit = 500;

    /// <summary>Whether <paramref name="row"/> passes every filter (visibility aside).</summary>
    public bool Matches(SessionSummary row) =>
        (Kind is null || row.Kind == Kind)
        && (Phases is null || Phases.Count == 0 || Phases.Contains(row.Phase))
        && (Modeller is null || row.ModellerId == Modeller)
        && (Pod is null || row.PodIds.Contains(Pod))
        && (CreatedAfter is null || row.CreatedAt >= CreatedAfter)
        && (CreatedBefore is null || row.CreatedAt < CreatedBefore)
        && (EndedAfter is null || row.EndedAt >= EndedAfter)
        && (EndedBefore is null || row.EndedAt < EndedBefore);
}

/// <summary>One page of a session list and the cursor of the next (null: the last page).</summary>
[GenerateSerializer, Immutable, Alias("smpc.session-list-page")]
public sealed record SessionListPage([property: Id(0)] IReadOnlyList<SessionSummary> Items, [property: Id(1)] SessionCursor? Next);
