using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Audit;

/// <summary>One page of a tenant's audit log; only its <see cref="AuditLogGrain"/> writes it, always continuing its sequence.</summary>
[GrainType("audit-page")]
public sealed class AuditPageGrain(
    [PersistentState("audit-page", SmpcDatabase.GrainStorageName)] IPersistentState<AuditPageState> state) : Grain, IAuditPageGrain
{
    async Task IAuditPageGrain.AppendAsync(IReadOnlyList<AuditEntry> entries)
    {
        if (entries.Count == 0) return;
        var key = AuditPageKey.Parse(this.GetPrimaryKeyString());
        if (entries.Any(e => e.Sequence < key.FirstSequence || e.Sequence > key.LastSequence))
            throw new InvalidOperationException($"Audit entries {entries[0].Sequence}–{entries[^1].Sequence} do not belong to page {key}.");
        var stored = state.State.Entries;
        var first = entries[0].Sequence;
        // Entries from here on belong to an append whose head was never stored: nobody could read them; replace them.
        stored.RemoveAll(e => e.Sequence >= first);
        var expected = stored.Count == 0 ? key.FirstSequence : stored[^1].Sequence + 1;
        if (first != expected || entries.Select((e, i) => e.Sequence != first + i).Any(gap => gap))
            throw new InvalidOperationException($"Audit page {key} expects sequence {expected} next, not {first}.");
        stored.AddRange(entries);
        await state.WriteOrRollbackAsync(this, "audit.page");
    }

    Task<IReadOnlyList<AuditEntry>> IAuditPageGrain.ReadAsync(long after, long through) =>
        Task.FromResult<IReadOnlyList<AuditEntry>>([.. state.State.Entries.Where(e => e.Sequence > after && e.Sequence <= through)]);
}
