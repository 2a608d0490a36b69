using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>Raw RSA private operation through BouncyCastle's <c>RsaBlindedEngine</c> (CRT with base blinding).</summary>
internal static class BouncyCastleRawRsa
{
    public static RsaPrivateCrtKeyParameters ToKey(RSAParameters p) => new(
        new BigInteger(1, p.Modulus!),
        new BigInteger(1, p.Exponent!),
        new BigInteger(1, p.D!),
        new BigInteger(1, p.P!),
        new BigInteger(1, p.Q!),
        new BigInteger(1, p.DP!),
        new BigInteger(1, p.DQ!),
        new BigInteger(1, p.InverseQ!));

    public static IRawRsaWorker CreateWorker(RsaPrivateCrtKeyParameters key, int modulusBytes) => new Worker(key, modulusBytes);

    private sealed class Worker : IRawRsaWorker
    {
        private readonly RsaBlindedEngine engine = new();
        private readonly int modulusBytes;

        public Worker(RsaPrivateCrtKeyParameters key, int modulusBytes)
        {
            this.modulusBytes = modulusBytes;
            engine.Init(false, new ParametersWithRandom(key, new SecureRandom()));
        }

        public void Sign(ReadOnlySpan<byte> input, Span<byte> output)
        {
            var raw = engine.ProcessBlock(input.ToArray(), 0, input.Length);
            output.Clear();
            raw.CopyTo(output[(modulusBytes - raw.Length)..]);
            CryptographicOperations.ZeroMemory(raw);
        }

        public void Dispose()
        {
        }
    }
}
