namespace Smpc.Grains.Audit;

/// <summary>Stored state of a tenant's audit log: only its head; the entries are in pages.</summary>
public sealed class AuditLogState
{
    /// <summary>The last sequence number appended (0: an empty log).</summary>
    public long Head { get; set; }

    /// <summary>True while the tenant has webhook endpoints: each append then pokes its dispatcher.</summary>
    public bool Followed { get; set; }
}
