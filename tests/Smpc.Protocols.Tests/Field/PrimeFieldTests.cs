using Smpc.Protocols.Field;

namespace Smpc.Protocols.Tests.Field;

public sealed class PrimeFieldTests
{
    public static TheoryData<ulong> Moduli => new() { PrimeField.Mersenne61, 1009, 3, (1UL << 62) - 57 };

    [Theory]
    [MemberData(nameof(Moduli))]
    public void VectorisedAdd_MatchesScalarReference_OnRandomAndEdgeValues(ulong modulus)
    {
        var field = PrimeField.Create(modulus);
        var random = new DeterministicTestRandom(1);
        foreach (var length in new[] { 0, 1, 3, 4, 5, 31, 1000 })
        {
            var a = RandomElements(field, random, length);
            var b = RandomElements(field, random, length);
            if (length > 2)
            {
                a[0] = modulus - 1;
                b[0] = modulus - 1;
                a[1] = 0;
                b[1] = modulus - 1;
            }

            var vectorised = (ulong[])a.Clone();
            var reference = (ulong[])a.Clone();
            field.AddInPlace(vectorised, b);
            field.AddReference(reference, b);
            Assert.Equal(reference, vectorised);
        }
    }

    [Theory]
    [MemberData(nameof(Moduli))]
    public void VectorisedSubtract_MatchesScalarReference(ulong modulus)
    {
        var field = PrimeField.Create(modulus);
        var random = new DeterministicTestRandom(2);
        var a = RandomElements(field, random, 1001);
        var b = RandomElements(field, random, 1001);
        a[0] = 0;
        b[0] = modulus - 1;
        var vectorised = (ulong[])a.Clone();
        var reference = (ulong[])a.Clone();
        field.SubtractInPlace(vectorised, b);
        field.SubtractReference(reference, b);
        Assert.Equal(reference, vectorised);
    }

    [Fact]
    public void SignedLift_RoundTripsAcrossTheCentredRange()
    {
        var field = PrimeField.Create(1009);
        for (long v = -504; v <= 504; v++)
        {
            Assert.Equal(v, field.ToSigned(field.FromSigned(v)));
        }

        Assert.Equal(1008UL, field.FromSigned(-1));
        Assert.Equal(PrimeField.Mersenne61 - 1, PrimeField.Default.FromSigned(-1));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(1000UL)]
    [InlineData(1UL << 63)]
    public void Create_RefusesNonPrimeOrOversizedModulus(ulong modulus)
    {
        var ex = Assert.Throws<ProtocolException>(() => PrimeField.Create(modulus));
        Assert.Equal(ProtocolError.InvalidParameters, ex.Error);
    }

    private static ulong[] RandomElements(PrimeField field, DeterministicTestRandom random, int length)
    {
        var values = new ulong[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = Smpc.Protocols.Randomness.RandomSourceExtensions.NextUInt64Below(random, field.Modulus);
        }

        return values;
    }
}
