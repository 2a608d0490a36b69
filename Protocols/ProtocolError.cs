namespace Smpc.Protocols;

/// <summary>Stable error codes carried by every <see cref="ProtocolException"/>; values never change meaning.</summary>
public enum ProtocolError
{
    /// <summary>A message or value could not be parsed or has the wrong shape.</summary>
    Malformed = 1,

    /// <summary>A step was invoked before the step it depends on, or after the state machine moved on.</summary>
    OutOfOrder = 2,

    /// <summary>The same message (or a message for the same slot) arrived twice.</summary>
    Duplicate = 3,

    /// <summary>A message contradicts one accepted earlier (e.g. a different survivor list).</summary>
    Contradictory = 4,

    /// <summary>Session parameters are invalid (n, t, q, key size, …).</summary>
    InvalidParameters = 5,

    /// <summary>An input value is NaN or ±Infinity.</summary>
    NonFiniteValue = 6,

    /// <summary>An input value lies outside its field's declared bounds.</summary>
    ValueOutOfBounds = 7,

    /// <summary>Declared bounds summed over all parties could leave the field's signed range.</summary>
    BoundsExceedFieldRange = 8,

    /// <summary>A message names a party that is not part of the session (or not allowed at this step).</summary>
    UnknownParty = 9,

    /// <summary>A signature (Ed25519 bundle or RSA blind signature) did not verify.</summary>
    BadSignature = 10,

    /// <summary>A party's identity key does not match the pinned fingerprint.</summary>
    IdentityMismatch = 11,

    /// <summary>An AEAD envelope failed to open (wrong key, tampered, or wrong associated data).</summary>
    DecryptionFailed = 12,

    /// <summary>Fewer parties remain than the threshold requires.</summary>
    InsufficientParties = 13,

    /// <summary>Fewer shares than the threshold were supplied.</summary>
    InsufficientShares = 14,

    /// <summary>Shares do not agree with each other or with a published commitment.</summary>
    InconsistentShares = 15,

    /// <summary>The party refuses a request that would reveal both kinds of share for one pod.</summary>
    DisclosureRefused = 16,

    /// <summary>A group element, RSA value or point is outside the valid range or not on the group.</summary>
    InvalidElement = 17,

    /// <summary>A PSI record could not be canonicalised under its column rules.</summary>
    InvalidRecord = 18,

    /// <summary>A required native library (libcrypto, libsodium) is unavailable.</summary>
    NativeLibraryUnavailable = 19,

    /// <summary>The request is valid but the party's policy refuses it (e.g. a PSI query set above the pod's maximum).</summary>
    PolicyRefused = 20,

    /// <summary>A message did not authenticate as coming from the party it names (forged, substituted or tampered in transit).</summary>
    SenderNotAuthenticated = 21,

    /// <summary>An X25519 public key is a low-order point (or the shared secret with it is all zero).</summary>
    LowOrderPoint = 22,

    /// <summary>The peer speaks another version of the protocol (e.g. an ECDH PSI peer from before ecdh-oprf-v1).</summary>
    UnsupportedVersion = 23,
}
