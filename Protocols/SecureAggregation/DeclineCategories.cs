namespace Smpc.Protocols.SecureAggregation;

/// <summary>
/// Why a pod declined or failed a secure-aggregation session: a category and never a value (the free text a pod logs
/// stays with the pod). The names are stable wire names, one list for the pod agent and the session grain.
/// </summary>
public static class DeclineCategories
{
    /// <summary>The pod's policy refuses the session (modeller, operation, input not offered).</summary>
    public const string Policy = "policy";

    /// <summary>A value of the pod's input lies outside the session's declared bounds.</summary>
    public const string InputOutOfBounds = "input-out-of-bounds";

    /// <summary>A value of the pod's input is NaN or infinite.</summary>
    public const string InputNotFinite = "input-not-finite";

    /// <summary>The pod has no such input, or cannot read it.</summary>
    public const string InputMissing = "input-missing";

    /// <summary>The pod's input has another length or shape than the session's fields.</summary>
    public const string ShapeMismatch = "shape-mismatch";

    /// <summary>The pod failed for a reason of its own (a bug, a crash it recovered from).</summary>
    public const string Internal = "internal";

    /// <summary>The modeller's signature of the session does not verify against its pinned identity (docs/protocols/signatures.md).</summary>
    public const string UnverifiedModeller = "unverified-modeller";

    /// <summary>Every category, in the order documented.</summary>
    public static IReadOnlyList<string> All { get; } = [Policy, InputOutOfBounds, InputNotFinite, InputMissing, ShapeMismatch, Internal, UnverifiedModeller];
}
