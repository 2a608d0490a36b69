using Smpc.Protocols.Field;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

public sealed class MaskPrgTests
{
    private static readonly byte[] Seed = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    [Theory]
    [InlineData(PrimeField.Mersenne61)]
    [InlineData(1009UL)]
    public void Seeking_AnyOffset_GivesExactlyTheSameElementsAsTheFullStream(ulong modulus)
    {
        var field = PrimeField.Create(modulus);
        using var prg = new MaskPrg(field, Seed, MaskContext.ForSelfMask("s", 0, 1));
        var full = new ulong[10_000];
        prg.Generate(0, full);
        foreach (var (offset, length) in new[] { (1, 1), (2, 3), (4095, 2), (4096, 4097), (7777, 2222), (9999, 1) })
        {
            var slice = new ulong[length];
            prg.Generate(offset, slice);
            Assert.Equal(full.AsSpan(offset, length).ToArray(), slice);
        }
    }

    [Fact]
    public void SmallField_RejectsValuesAtOrAboveQ_AndStaysUniform()
    {
        var field = PrimeField.Create(1009);
        using var prg = new MaskPrg(field, Seed, MaskContext.ForSelfMask("s", 0, 1));
        var elements = new ulong[1009 * 100];
        prg.Generate(0, elements);
        Assert.All(elements, e => Assert.True(e < 1009));
        var counts = new int[1009];
        foreach (var e in elements)
        {
            counts[e]++;
        }

        var chiSquare = counts.Sum(c => (c - 100.0) * (c - 100.0) / 100.0);
        Assert.InRange(chiSquare, 1008 - (6 * 45), 1008 + (6 * 45));
    }

    [Fact]
    public void NoTwoElements_ShareAnOffset_DistinctAcrossTheStream()
    {
        using var prg = new MaskPrg(PrimeField.Default, Seed, MaskContext.ForPairMask("s", 0, 1, 2));
        var elements = new ulong[200_000];
        prg.Generate(0, elements);
        Assert.Equal(elements.Length, elements.Distinct().Count());
    }

    [Fact]
    public void DifferentContexts_GiveIndependentStreams()
    {
        var a = new ulong[64];
        var b = new ulong[64];
        var c = new ulong[64];
        using (var prg = new MaskPrg(PrimeField.Default, Seed, MaskContext.ForPairMask("s", 0, 1, 2)))
        {
            prg.Generate(0, a);
        }

        using (var prg = new MaskPrg(PrimeField.Default, Seed, MaskContext.ForPairMask("s", 1, 1, 2)))
        {
            prg.Generate(0, b);
        }

        using (var prg = new MaskPrg(PrimeField.Default, Seed, MaskContext.ForPairMask("s", 0, 2, 1)))
        {
            prg.Generate(0, c);
        }

        Assert.Empty(a.Intersect(b));
        Assert.Equal(a, c);
    }

    [Fact]
    public void ParallelSlicedMasking_EqualsSingleThreadedMasking()
    {
        var field = PrimeField.Default;
        var terms = Enumerable.Range(0, 3).Select(k => new MaskTerm(
            [.. Enumerable.Range(0, 32).Select(i => (byte)(i + k))], MaskContext.ForSelfMask("s", 0, k + 1), Subtract: k == 1)).ToArray();
        var parallel = new ulong[300_001];
        var serial = new ulong[300_001];
        VectorMasker.Apply(field, parallel, terms, maxDegreeOfParallelism: 4);
        VectorMasker.Apply(field, serial, terms, maxDegreeOfParallelism: 1);
        Assert.Equal(serial, parallel);
        Assert.Contains(parallel, v => v != 0);
    }

    [Fact]
    public void MaskedVector_OfAConstantInput_LooksUniform()
    {
        // Chi-square on the top 4 bits of each 61-bit element: 16 cells, 15 degrees of freedom.
        var field = PrimeField.Default;
        var vector = Enumerable.Repeat(field.Modulus - 1, 160_000).ToArray();
        VectorMasker.Apply(field, vector, [new MaskTerm(Seed, MaskContext.ForSelfMask("s", 0, 1), false)]);
        var counts = new int[16];
        foreach (var v in vector)
        {
            counts[v >> 57]++;
        }

        var chiSquare = counts.Sum(c => (c - 10_000.0) * (c - 10_000.0) / 10_000.0);
        Assert.InRange(chiSquare, 0, 50);
    }
}
