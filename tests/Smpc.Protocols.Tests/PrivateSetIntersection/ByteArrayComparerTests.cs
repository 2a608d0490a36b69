using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

public sealed class ByteArrayComparerTests
{
    [Fact]
    public void HashCode_DependsOnTheLastByte_NotJustAPrefix()
    {
        // Encoded records all start with "smpc/psi/record/v2" (RecordEncoder.Version); only a whole-array hash keeps Distinct linear.
        var codes = Enumerable.Range(0, 256)
            .Select(i => PsiTestData.Encoder.Encode(["someone@example.org", "name " + (char)('a' + (i % 26)) + (i / 26)]))
            .Select(r => ByteArrayComparer.Instance.GetHashCode(r))
            .Distinct()
            .Count();

        // 256 distinct inputs into 32 bits: a collision has probability about 2^-17, so allow a few.
        Assert.InRange(codes, 250, 256);

        var lastByteOnly = Enumerable.Range(0, 256).Select(i =>
        {
            var a = new byte[64];
            a[^1] = (byte)i;
            return ByteArrayComparer.Instance.GetHashCode(a);
        }).Distinct().Count();
        Assert.InRange(lastByteOnly, 250, 256);
    }

    [Fact]
    public void EqualContent_HasEqualHashCodes()
    {
        var a = PsiTestData.Encoder.Encode(["a@example.org", "x"]);
        var b = PsiTestData.Encoder.Encode(["A@Example.org", " X "]);
        Assert.NotSame(a, b);
        Assert.True(ByteArrayComparer.Instance.Equals(a, b));
        Assert.Equal(ByteArrayComparer.Instance.GetHashCode(a), ByteArrayComparer.Instance.GetHashCode(b));
        Assert.Equal(ByteArrayComparer.Instance.GetHashCode([]), ByteArrayComparer.Instance.GetHashCode([]));
    }
}
