using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Grains.Sessions;

/// <summary>Stored state of a PSI session: the spec and the coordinator's exchange (sizes and flags; the sets live in payloads).</summary>
public sealed class PsiSessionState : SessionRecord
{
    public PsiSpec? Spec { get; set; }
    public PsiExchangeState Exchange { get; set; } = new();
}
