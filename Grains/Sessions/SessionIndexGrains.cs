using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Sessions;

/// <summary>Stored head of a tenant's session index: the months that hold rows, and whether older sessions were imported.</summary>
public sealed class SessionIndexState
{
    /// <summary>UTC months (yyyyMM) with at least one row.</summary>
    public SortedSet<int> Months { get; set; } = [];

    /// <summary>Incremented on every activation: the high half of the revisions reported to the census, so they only grow.</summary>
    public long Epoch { get; set; }

    /// <summary>True once the sessions stored before the index existed (as the pods' session lists name them) were imported.</summary>
    public bool Backfilled { get; set; }
}

/// <summary>
/// A tenant's session index (see <see cref="ISessionIndexGrain"/>). Rows live in one page grain per UTC month of creation,
/// so a write costs one month's rows (a month of 10,000 sessions is about 2.5 MB of JSON; see docs/api.md). The per-phase
/// counts are the sum of the pages' own counts (each page counts its rows in the same state it stores them in, so counts and
/// rows cannot disagree): read from every page on activation, then updated from each upsert's answer, and reported to the
/// census after each change.
/// </summary>
[GrainType("session-index")]
public sealed class SessionIndexGrain(
    [PersistentState("session-index", SmpcDatabase.GrainStorageName)] IPersistentState<SessionIndexState> state) : Grain, ISessionIndexGrain
{
    /// <summary>Months one list request scans at most (it answers a cursor to go on from there).</summary>
    public const int MaxMonthsPerList = 36;

    /// <summary>Session reads running at once while importing older sessions.</summary>
    private const int BackfillParallelism = 16;

    private readonly Dictionary<int, IReadOnlyDictionary<SessionPhase, long>> _monthCounts = [];
    private long _reports;

    private string Tenant => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        state.State.Epoch++;
        await state.WriteOrRollbackAsync(this, "session-index.activate");
        var months = state.State.Months.ToList();
        var counts = await Task.WhenAll(months.Select(m => Page(m).CountsAsync()));
        for (var i = 0; i < months.Count; i++) _monthCounts[months[i]] = counts[i];
    }

    async Task ISessionIndexGrain.UpsertAsync(SessionSummary row)
    {
        var month = MonthOf(row.CreatedAt);
        var result = await Page(month).UpsertAsync(row);
        if (!result.Stored) return;
        _monthCounts[month] = result.Counts;
        if (state.State.Months.Add(month)) await state.WriteOrRollbackAsync(this, "session-index.month");
        await ReportAsync();
    }

    Task<IReadOnlyDictionary<SessionPhase, long>> ISessionIndexGrain.GetCountsAsync() => Task.FromResult(Counts());

    async Task<SessionListPage> ISessionIndexGrain.ListAsync(Caller caller, SessionListQuery query)
    {
        var tenant = Tenant;
        caller.RequireTenant(tenant, $"Tenant '{tenant}'");
        var (modeller, pod) = caller.Role switch
        {
            CallerRole.TenantAdmin => (null, null),
            CallerRole.Modeller => (caller.Subject, (string?)null),
            CallerRole.Pod => (null, caller.Subject),
            _ => throw SmpcException.NotFound($"Tenant '{tenant}'"),
        };
        if (query.Limit is < 1 or > SessionListQuery.MaxLimit) throw SmpcException.Invalid($"limit must be 1 to {SessionListQuery.MaxLimit}.");
        if (!state.State.Backfilled) await BackfillAsync();

        var found = new List<SessionSummary>();
        var after = query.Cursor;
        var scanned = 0;
        foreach (var month in state.State.Months.Reverse())
        {
            if (after is not null && MonthStart(month).UtcTicks > after.CreatedAtTicks) continue; // all of it is before the cursor
            if (query.CreatedBefore is { } before && MonthStart(month) >= before) continue;
            if (query.CreatedAfter is { } from && MonthStart(NextMonth(month)) <= from) break;
            if (scanned == MaxMonthsPerList)
                return new SessionListPage(found, new SessionCursor(MonthStart(NextMonth(month)).UtcTicks - 1, "")); // go on from this month
            scanned++;
            found.AddRange(await Page(month).ReadAsync(query, modeller, pod, after, query.Limit + 1 - found.Count));
            if (found.Count > query.Limit) break;
        }

        if (found.Count <= query.Limit) return new SessionListPage(found, null);
        var items = found.Take(query.Limit).ToList();
        return new SessionListPage(items, new SessionCursor(items[^1].CreatedAt.UtcTicks, items[^1].Id));
    }

    /// <summary>
    /// Imports the sessions stored before the index existed: every id in the tenant's pods' session lists (every session
    /// has a pod; each list keeps a pod's newest <see cref="Tenancy.PodGrain.MaxListedSessions"/>, as the list before the index did)
    /// that has no row yet, read from its grain's last durable snapshot (an interleaving read, so a session grain waiting on
    /// this index cannot deadlock with it).
    /// </summary>
    private async Task BackfillAsync()
    {
        var tenant = Tenant;
        var admin = Caller.Admin(tenant);
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ids in await Task.WhenAll(state.State.Months.Select(m => Page(m).IdsAsync()))) known.UnionWith(ids);
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        if (await GrainFactory.GetTenant(tenant).ExistsAsync())
        {
            foreach (var pod in await GrainFactory.GetTenant(tenant).ListMembersAsync(admin, MemberKind.Pod))
                foreach (var id in await GrainFactory.GetPod(new EntityKey(tenant, pod)).ListSessionsAsync(admin))
                    if (!known.Contains(id)) missing.Add(id);
        }

        using var gate = new SemaphoreSlim(BackfillParallelism);
        var rows = await Task.WhenAll(missing.Select(async id =>
        {
            await gate.WaitAsync();
            try
            {
                var info = await GrainFactory.GetSession(new EntityKey(tenant, id)).WaitForChangeAsync(admin, -1, TimeSpan.Zero);
                return SessionSummary.From(info);
            }
            catch (SmpcException e) when (e.Code == SmpcErrorCode.NotFound)
            {
                return null; // listed but never stored (a create that crashed before its write)
            }
            finally
            {
                gate.Release();
            }
        }));
        foreach (var row in rows.OfType<SessionSummary>()) await ((ISessionIndexGrain)this).UpsertAsync(row);
        state.State.Backfilled = true;
        await state.WriteOrRollbackAsync(this, "session-index.backfill");
    }

    private IReadOnlyDictionary<SessionPhase, long> Counts()
    {
        var sum = new Dictionary<SessionPhase, long>();
        foreach (var month in _monthCounts.Values)
            foreach (var (phase, n) in month)
                if (n > 0) sum[phase] = sum.GetValueOrDefault(phase) + n;
        return sum;
    }

    /// <summary>The census keeps the latest snapshot; a failed report is logged and the next change reports again.</summary>
    private async Task ReportAsync()
    {
        var revision = (state.State.Epoch << 32) + ++_reports;
        try
        {
            await GrainFactory.GetGrain<ISessionCensusGrain>(ISessionCensusGrain.Key).ReportAsync(Tenant, revision, Counts());
        }
        catch (Exception ex)
        {
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>("smpc.operation", "session.census"));
            GrainContext.ActivationServices.GetService<ILoggerFactory>()?.CreateLogger("Smpc.Grains.Sessions")
                .LogError("Could not report tenant {Tenant}'s session counts to the census: {Error}", Tenant, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private ISessionIndexPageGrain Page(int month) =>
        GrainFactory.GetGrain<ISessionIndexPageGrain>($"{Tenant}/{month / 100:D4}-{month % 100:D2}");

    internal static int MonthOf(DateTimeOffset t)
    {
        var utc = t.UtcDateTime;
        return utc.Year * 100 + utc.Month;
    }

    private static DateTimeOffset MonthStart(int month) => new(month / 100, month % 100, 1, 0, 0, 0, TimeSpan.Zero);

    private static int NextMonth(int month) => month % 100 == 12 ? (month / 100 + 1) * 100 + 1 : month + 1;
}

/// <summary>Stored rows of one month of a tenant's sessions.</summary>
public sealed class SessionIndexPageState
{
    public Dictionary<string, SessionSummary> Rows { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One UTC month of a tenant's session index; only the tenant's <see cref="SessionIndexGrain"/> calls it.</summary>
[GrainType("session-index-page")]
public sealed class SessionIndexPageGrain(
    [PersistentState("session-index-page", SmpcDatabase.GrainStorageName)] IPersistentState<SessionIndexPageState> state) : Grain, ISessionIndexPageGrain
{
    async Task<IndexUpsert> ISessionIndexPageGrain.UpsertAsync(SessionSummary row)
    {
        if (state.State.Rows.TryGetValue(row.Id, out var stored) && stored.Version >= row.Version) return new IndexUpsert(false, Counts());
        state.State.Rows[row.Id] = row;
        await state.WriteOrRollbackAsync(this, "session-index.page");
        return new IndexUpsert(true, Counts());
    }

    Task<IReadOnlyDictionary<SessionPhase, long>> ISessionIndexPageGrain.CountsAsync() => Task.FromResult<IReadOnlyDictionary<SessionPhase, long>>(Counts());

    Task<IReadOnlyList<SessionSummary>> ISessionIndexPageGrain.ReadAsync(SessionListQuery query, string? visibleModeller, string? visiblePod, SessionCursor? after, int limit)
    {
        var rows = state.State.Rows.Values
            .Where(r => (visibleModeller is null || r.ModellerId == visibleModeller) && (visiblePod is null || r.PodIds.Contains(visiblePod)))
            .Where(r => (after is null || r.IsAfter(after)) && query.Matches(r))
            .ToList();
        rows.Sort(SessionSummary.Compare);
        return Task.FromResult<IReadOnlyList<SessionSummary>>(rows.Count > limit ? rows.GetRange(0, limit) : rows);
    }

    Task<IReadOnlyList<string>> ISessionIndexPageGrain.IdsAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Rows.Keys]);

    private Dictionary<SessionPhase, long> Counts() =>
        state.State.Rows.Values.GroupBy(r => r.Phase).ToDictionary(g => g.Key, g => (long)g.Count());
}

/// <summary>Stored census: each tenant's latest reported counts.</summary>
public sealed class SessionCensusState
{
    public Dictionary<string, TenantCensus> Tenants { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One tenant's counts as of its index's revision.</summary>
public sealed class TenantCensus
{
    public long Revision { get; set; }
    public Dictionary<SessionPhase, long> Counts { get; set; } = [];
}

/// <summary>The service-wide sessions-by-phase count (see <see cref="ISessionCensusGrain"/>); one write per report.</summary>
[GrainType("session-census")]
public sealed class SessionCensusGrain(
    [PersistentState("session-census", SmpcDatabase.GrainStorageName)] IPersistentState<SessionCensusState> state) : Grain, ISessionCensusGrain
{
    async Task ISessionCensusGrain.ReportAsync(string tenant, long revision, IReadOnlyDictionary<SessionPhase, long> counts)
    {
        if (state.State.Tenants.TryGetValue(tenant, out var kept) && kept.Revision >= revision) return;
        state.State.Tenants[tenant] = new TenantCensus { Revision = revision, Counts = counts.Where(c => c.Value > 0).ToDictionary() };
        await state.WriteOrRollbackAsync(this, "session-census.report");
    }

    Task<IReadOnlyDictionary<SessionPhase, long>> ISessionCensusGrain.GetCountsAsync()
    {
        var sum = new Dictionary<SessionPhase, long>();
        foreach (var tenant in state.State.Tenants.Values)
            foreach (var (phase, n) in tenant.Counts)
                sum[phase] = sum.GetValueOrDefault(phase) + n;
        return Task.FromResult<IReadOnlyDictionary<SessionPhase, long>>(sum);
    }
}
