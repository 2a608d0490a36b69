namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Why a modeller refused a pod's RSA key; the values and their wire names never change meaning.</summary>
public enum RsaKeyRefusal
{
    /// <summary>e is not exactly 65537 (encoded as the three bytes 01 00 01).</summary>
    ExponentNot65537 = 1,

    /// <summary>n does not have the bit length the session declared.</summary>
    WrongModulusSize = 2,

    /// <summary>n is even.</summary>
    EvenModulus = 3,

    /// <summary>n has a prime factor below <see cref="RsaKeyCertification.SmallPrimeBound"/>.</summary>
    SmallFactor = 4,

    /// <summary>The pod sent no certification proof (an agent older than the certified-key protocol).</summary>
    ProofMissing = 5,

    /// <summary>The proof does not have the documented byte format or length.</summary>
    ProofMalformed = 6,

    /// <summary>Some σ_i^e ≢ ρ_i (mod n): a forged proof, a proof for another session or key, or a key that is not a permutation.</summary>
    ProofInvalid = 7,
}
