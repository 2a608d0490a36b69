namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Which implementation performs the signer's raw RSA private operation.</summary>
public enum RsaSigningBackend
{
    /// <summary>OpenSSL when available (Linux with libcrypto.so.3), otherwise BouncyCastle.</summary>
    Auto = 0,

    /// <summary>OpenSSL raw RSA (EVP_PKEY_decrypt with RSA_NO_PADDING): CRT, blinded, constant-time, ~13× faster.</summary>
    OpenSsl = 1,

    /// <summary>BouncyCastle <c>RsaBlindedEngine</c>: portable fallback, CRT and blinded.</summary>
    BouncyCastle = 2,
}
