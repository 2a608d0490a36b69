using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

/// <summary>The input-binding tag stays HMAC-SHA-256_b(label ‖ LE64 elements), also across its internal slicing.</summary>
public sealed class InputTagTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData((1 << 20) + 3)]
    public void InputTag_IsTheHmacOverTheLabelAndTheLittleEndianElements(int length)
    {
        var random = new Random(length);
        var seed = new byte[32];
        random.NextBytes(seed);
        var encoded = new ulong[length];
        for (var i = 0; i < length; i++)
        {
            encoded[i] = (ulong)random.NextInt64(0, long.MaxValue) >> 3;
        }

        var label = "smpc/secagg/input-tag/v1"u8;
        var message = new byte[label.Length + (8 * length)];
        label.CopyTo(message);
        for (var i = 0; i < length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(message.AsSpan(label.Length + (8 * i)), encoded[i]);
        }

        Assert.Equal(HMACSHA256.HashData(seed, message), InputTag(null, seed, encoded));
    }

    [UnsafeAccessor(UnsafeAccessorKind.StaticMethod, Name = "InputTag")]
    private static extern byte[] InputTag(SecureAggregationParty? party, byte[] selfMask, ulong[] encoded);
}
