namespace Smpc.Client.Identity;

/// <summary>Why a pod refuses a session's modeller signature (docs/protocols/signatures.md, "Pods verify").</summary>
public static class UnverifiedReasons
{
    /// <summary>The session carries no modeller signature.</summary>
    public const string Unsigned = "unsigned";

    /// <summary>The modeller has no identity key in the registry.</summary>
    public const string NoIdentity = "no-identity";

    /// <summary>The registry presents another key than the one pinned for the modeller (or it cannot be pinned).</summary>
    public const string PinMismatch = "pin-mismatch";

    /// <summary>The signature does not verify over the statement recomputed from the session as served.</summary>
    public const string BadSignature = "bad-signature";

    /// <summary>The service served the session differently from the copy this pod verified before.</summary>
    public const string Changed = "changed";

    /// <summary>The session as served cannot be turned into a statement (a missing spec, a malformed key).</summary>
    public const string Malformed = "malformed";
}
