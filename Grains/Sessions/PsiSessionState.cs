namespace Smpc.Grains.Sessions;

/// <summary>Stored state of a PSI session: the common part and the protocol's sizes and flags (the sets live in payloads).</summary>
public sealed class PsiSessionState : SessionRecord
{
    public PsiState Psi { get; set; } = new();
}
