namespace Smpc.Grains.Interfaces.Audit;

/// <summary>
/// One read of an audit log: entries in sequence order. <see cref="Next"/> is the cursor to pass as <c>after</c> for the rest (null
/// when the log was read to its end); a page may hold fewer entries than asked even when more follow, because one read
/// scans a bounded stretch of the log. <see cref="Head"/> is the log's last sequence number when it was read.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.audit-query-result")]
public sealed record AuditQueryResult(
    [property: Id(0)] IReadOnlyList<AuditEntry> Entries,
    [property: Id(1)] long? Next,
    [property: Id(2)] long Head);
