namespace Smpc.Contracts;

/// <summary>Limits every party agrees on: the service enforces them, the client and pods size their encodings by them.</summary>
public static class SessionLimits
{
    /// <summary>
    /// Most pods one session may name. Secure aggregation keeps its n² share envelopes in grain state, which bounds n; the
    /// fixed-point encodings are sized so a sum over this many pods cannot overflow the field.
    /// </summary>
    public const int MaxPods = 50;
}
