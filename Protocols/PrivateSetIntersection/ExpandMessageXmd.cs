using System.Security.Cryptography;

namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>RFC 9380 section 5.3.1 expand_message_xmd instantiated with SHA-512 (b = 64, r = 128 bytes).</summary>
public static class ExpandMessageXmd
{
    private const int HashBytes = 64;
    private const int BlockBytes = 128;

    /// <summary>uniform_bytes = expand_message_xmd(msg, DST, len_in_bytes); refuses len &gt; 255·64 or 65535, or a DST over 255 bytes.</summary>
    public static void Expand(ReadOnlySpan<byte> message, ReadOnlySpan<byte> dst, Span<byte> output)
    {
        var length = output.Length;
        var ell = (length + HashBytes - 1) / HashBytes;
        if (length == 0 || ell > 255 || length > 65535 || dst.Length is 0 or > 255)
        {
            throw new ProtocolException(ProtocolError.InvalidParameters, "expand_message_xmd: output of 1 to 16320 bytes and a DST of 1 to 255 bytes");
        }

        Span<byte> b0 = stackalloc byte[HashBytes];
        Span<byte> bi = stackalloc byte[HashBytes];
        Span<byte> block = stackalloc byte[HashBytes];
        Span<byte> header = stackalloc byte[3];
        Span<byte> dstLength = [(byte)dst.Length];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        // b_0 = H(Z_pad ‖ msg ‖ l_i_b_str ‖ I2OSP(0, 1) ‖ DST_prime), DST_prime = DST ‖ I2OSP(len(DST), 1).
        sha.AppendData(new byte[BlockBytes]);
        sha.AppendData(message);
        header[0] = (byte)(length >> 8);
        header[1] = (byte)length;
        header[2] = 0;
        sha.AppendData(header);
        sha.AppendData(dst);
        sha.AppendData(dstLength);
        sha.GetHashAndReset(b0);
        for (var i = 1; i <= ell; i++)
        {
            // b_1 = H(b_0 ‖ 1 ‖ DST_prime); b_i = H((b_0 xor b_(i-1)) ‖ i ‖ DST_prime).
            for (var j = 0; j < HashBytes; j++)
            {
                block[j] = i == 1 ? b0[j] : (byte)(b0[j] ^ bi[j]);
            }

            sha.AppendData(block);
            sha.AppendData([(byte)i]);
            sha.AppendData(dst);
            sha.AppendData(dstLength);
            sha.GetHashAndReset(bi);
            var offset = (i - 1) * HashBytes;
            bi[..Math.Min(HashBytes, length - offset)].CopyTo(output[offset..]);
        }

        CryptographicOperations.ZeroMemory(b0);
        CryptographicOperations.ZeroMemory(bi);
    }
}
