namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Something a PSI coordinator decided that the service must act on (measure, audit, delete the sets).</summary>
public abstract record PsiEvent
{
    /// <summary>The pod accepted; <paramref name="Detail"/> says how (for the audit log).</summary>
    public sealed record Accepted(string Detail) : PsiEvent;

    /// <summary>A set of <paramref name="Elements"/> elements is stored.</summary>
    public sealed record SetStored(PsiSet Set, long Elements) : PsiEvent;

    /// <summary>The pod reported the intersection size.</summary>
    public sealed record PodCounted : PsiEvent;

    /// <summary>The modeller finished; <paramref name="ModellerCounted"/> when it recorded a count of its own.</summary>
    public sealed record Completed(bool ModellerCounted) : PsiEvent;

    /// <summary>The session failed (the sets are to be deleted); <paramref name="Declined"/> is the pod's reason when it declined.</summary>
    public sealed record Failed(string Reason, string? Declined) : PsiEvent;
}
