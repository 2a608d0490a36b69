namespace Smpc.Client;

/// <summary>
/// Filters of a session list (each narrows what the caller may see). <see cref="Kind"/>: secure-aggregation, psi, query or
/// training; <see cref="Phase"/>: comma-separated phase names, <c>active</c> or <c>ended</c>; <c>*After</c> inclusive,
/// <c>*Before</c> exclusive; <see cref="Limit"/> 1–500; <see cref="Cursor"/>: a previous page's <c>Next</c>.
/// </summary>
public sealed record SessionListFilter(
    string? Kind = null, string? Phase = null, string? Modeller = null, string? Pod = null,
    DateTimeOffset? CreatedAfter = null, DateTimeOffset? CreatedBefore = null, DateTimeOffset? EndedAfter = null, DateTimeOffset? EndedBefore = null,
    int Limit = 100, string? Cursor = null);
