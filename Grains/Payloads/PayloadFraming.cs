using System.Buffers.Binary;
using System.Security.Cryptography;
using Smpc.Grains.Interfaces.Payloads;

namespace Smpc.Grains.Payloads;

/// <summary>
/// Small service-written payloads that hold a list of messages (e.g. a pod's sealed share envelopes): BE32 count, then per
/// message BE32 length ‖ bytes, stored in chunks of at most 1 MiB, so lists that grow with n² stay out of grain state.
/// </summary>
internal static class PayloadFraming
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>The framed form of <paramref name="messages"/>, in their order.</summary>
    public static byte[] Pack(IReadOnlyList<byte[]> messages)
    {
        var bytes = new byte[4 + messages.Sum(m => 4L + m.Length)];
        BinaryPrimitives.WriteInt32BigEndian(bytes, messages.Count);
        var offset = 4;
        foreach (var message in messages)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(offset), message.Length);
            message.CopyTo(bytes, offset + 4);
            offset += 4 + message.Length;
        }

        return bytes;
    }

    /// <summary>The messages of a framed payload.</summary>
    public static IReadOnlyList<byte[]> Unpack(ReadOnlySpan<byte> bytes)
    {
        var count = BinaryPrimitives.ReadInt32BigEndian(bytes);
        var messages = new List<byte[]>(count);
        var offset = 4;
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes[offset..]);
            messages.Add(bytes.Slice(offset + 4, length).ToArray());
            offset += 4 + length;
        }

        if (offset != bytes.Length) throw new InvalidDataException("A framed payload has trailing bytes.");
        return messages;
    }

    /// <summary>SHA-256 (lower-case hex) of the framed form: what a retried write is compared by.</summary>
    public static string Digest(IReadOnlyList<byte[]> messages) => Convert.ToHexStringLower(SHA256.HashData(Pack(messages)));

    /// <summary>Stores <paramref name="messages"/> as payload <paramref name="payload"/>; storing the same list again is idempotent.</summary>
    public static async Task WriteAsync(IPayloadGrain payload, IReadOnlyList<byte[]> messages)
    {
        var bytes = Pack(messages);
        var upload = await payload.BeginAsync();
        for (var offset = 0; offset < bytes.Length; offset += ChunkBytes)
            await payload.WriteChunkAsync(upload, offset / ChunkBytes, bytes[offset..Math.Min(offset + ChunkBytes, bytes.Length)]);
        await payload.CompleteAsync(upload, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>The messages stored as payload <paramref name="payload"/>.</summary>
    public static async Task<IReadOnlyList<byte[]>> ReadAsync(IPayloadGrain payload)
    {
        var manifest = await payload.GetManifestAsync();
        var bytes = new byte[manifest.Length];
        var offset = 0;
        for (var i = 0; i < manifest.ChunkLengths.Count; i++)
        {
            var chunk = await payload.ReadChunkAsync(i);
            chunk.CopyTo(bytes, offset);
            offset += chunk.Length;
        }

        return Unpack(bytes);
    }
}
