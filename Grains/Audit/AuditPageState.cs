using Smpc.Grains.Interfaces.Audit;

namespace Smpc.Grains.Audit;

/// <summary>Stored state of one audit page: at most <see cref="AuditPageKey.EntriesPerPage"/> entries in sequence order.</summary>
public sealed class AuditPageState
{
    public List<AuditEntry> Entries { get; set; } = [];
}
