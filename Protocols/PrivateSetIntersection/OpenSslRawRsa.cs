using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>
/// Raw RSA private operation through OpenSSL 3 on the key inside <see cref="RSAOpenSsl"/>:
/// EVP_PKEY_decrypt with RSA_NO_PADDING (OpenSSL applies CRT and base blinding). One EVP_PKEY_CTX per worker.
/// </summary>
[SupportedOSPlatform("linux")]
internal static partial class OpenSslRawRsa
{
    private const string LibCrypto = "libcrypto.so.3";
    private const int RsaNoPadding = 3;
    private static readonly Lazy<bool> Available = new(Probe);

    public static bool IsAvailable => Available.Value;

    public static IRawRsaWorker CreateWorker(SafeEvpPKeyHandle key, int modulusBytes) => new Worker(key, modulusBytes, publicOperation: false);

    /// <summary>A worker for the public operation m^e mod n (EVP_PKEY_encrypt, RSA_NO_PADDING): the modeller's blinding and verification.</summary>
    public static IRawRsaWorker CreatePublicWorker(SafeEvpPKeyHandle key, int modulusBytes) => new Worker(key, modulusBytes, publicOperation: true);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_encrypt_init(nint ctx);

    [LibraryImport(LibCrypto)]
    private static unsafe partial int EVP_PKEY_encrypt(nint ctx, byte* output, ref nuint outputLength, byte* input, nuint inputLength);

    [LibraryImport(LibCrypto)]
    private static partial nint EVP_PKEY_CTX_new(SafeEvpPKeyHandle pkey, nint engine);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_decrypt_init(nint ctx);

    [LibraryImport(LibCrypto)]
    private static partial int EVP_PKEY_CTX_set_rsa_padding(nint ctx, int padding);

    [LibraryImport(LibCrypto)]
    private static unsafe partial int EVP_PKEY_decrypt(nint ctx, byte* output, ref nuint outputLength, byte* input, nuint inputLength);

    [LibraryImport(LibCrypto)]
    private static partial void EVP_PKEY_CTX_free(nint ctx);

    private static bool Probe()
    {
        try
        {
            return NativeLibrary.TryLoad(LibCrypto, out var handle) && NativeLibrary.TryGetExport(handle, "EVP_PKEY_decrypt", out _);
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    private sealed class Worker : IRawRsaWorker
    {
        private readonly SafeEvpPKeyHandle key;
        private readonly int modulusBytes;
        private readonly bool publicOperation;
        private nint context;

        public Worker(SafeEvpPKeyHandle key, int modulusBytes, bool publicOperation)
        {
            this.key = key;
            this.modulusBytes = modulusBytes;
            this.publicOperation = publicOperation;
            context = EVP_PKEY_CTX_new(key, 0);
            if (context == 0 || (publicOperation ? EVP_PKEY_encrypt_init(context) : EVP_PKEY_decrypt_init(context)) <= 0
                || EVP_PKEY_CTX_set_rsa_padding(context, RsaNoPadding) <= 0)
            {
                Dispose();
                throw new ProtocolException(ProtocolError.NativeLibraryUnavailable, "OpenSSL refused to set up a raw RSA context");
            }
        }

        public unsafe void Sign(ReadOnlySpan<byte> input, Span<byte> output)
        {
            if (input.Length != modulusBytes || output.Length != modulusBytes)
            {
                throw new ArgumentException("raw RSA input and output are k bytes");
            }

            var length = (nuint)output.Length;
            fixed (byte* i = input)
            fixed (byte* o = output)
            {
                var done = publicOperation
                    ? EVP_PKEY_encrypt(context, o, ref length, i, (nuint)input.Length)
                    : EVP_PKEY_decrypt(context, o, ref length, i, (nuint)input.Length);
                if (done <= 0 || length != (nuint)modulusBytes)
                {
                    throw new CryptographicCheckException(ProtocolError.InvalidElement, "OpenSSL raw RSA operation failed (input not below n?)");
                }
            }

            GC.KeepAlive(key);
        }

        public void Dispose()
        {
            if (context != 0)
            {
                EVP_PKEY_CTX_free(context);
                context = 0;
            }
        }
    }
}
