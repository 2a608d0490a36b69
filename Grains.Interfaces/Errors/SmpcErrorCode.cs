namespace Smpc.Grains.Interfaces.Errors;

/// <summary>Stable error kinds that cross the grain boundary and map to REST problem types.</summary>
public enum SmpcErrorCode
{
    /// <summary>The addressed resource does not exist (or belongs to another tenant).</summary>
    NotFound = 1,
    /// <summary>The request contradicts what is already stored.</summary>
    Conflict = 2,
    /// <summary>The request is malformed or violates a rule.</summary>
    Validation = 3,
    /// <summary>The request is valid but not allowed in the resource's current phase.</summary>
    WrongPhase = 4,
    /// <summary>Durable storage could not be read or written; nothing was changed; retry later.</summary>
    StorageUnavailable = 5,
    /// <summary>A payload exceeds its limit.</summary>
    TooLarge = 6,
    /// <summary>No valid credential was presented.</summary>
    Unauthenticated = 7,
    /// <summary>The caller's role may not do this inside its own tenant.</summary>
    Forbidden = 8,
    /// <summary>The request speaks a protocol version the session or the service does not (e.g. ECDH PSI before ecdh-oprf-v1).</summary>
    UnsupportedVersion = 9,
}
