using Smpc.Client.Psi;

namespace Smpc.Client.Tests.Psi;

/// <summary>kkrt runs over distinct digests; the modeller maps each distinct digest back to every record that had it.</summary>
public sealed class KkrtDigestsTests
{
    private static byte[] D(int value)
    {
        var digest = new byte[16];
        digest[0] = (byte)value;
        digest[15] = (byte)(value * 7);
        return digest;
    }

    [Fact]
    public void Distinct_RemovesRepeats_AndMapsEveryRecordToItsDigest()
    {
        var digests = new KkrtDigests();
        int[] values = [5, 3, 5, 9, 3, 3, 1];
        foreach (var v in values) digests.AddDigest(D(v));

        var (distinct, map) = digests.Distinct();

        Assert.Equal(4 * 16, distinct.Length);
        Assert.Equal(values.Length, map.Length);
        for (var r = 0; r < values.Length; r++) Assert.Equal(D(values[r]), distinct.AsSpan(map[r] * 16, 16).ToArray());
        var unique = Enumerable.Range(0, 4).Select(i => Convert.ToHexString(distinct, i * 16, 16)).ToList();
        Assert.Equal(4, unique.Distinct().Count());
        Assert.Equal(0, digests.Count); // handed over, not kept twice
    }

    [Fact]
    public void DistinctOnly_GivesTheSameSetAsDistinct()
    {
        var a = new KkrtDigests();
        var b = new KkrtDigests();
        foreach (var v in new[] { 2, 2, 8, 4, 8, 200 })
        {
            a.AddDigest(D(v));
            b.AddDigest(D(v));
        }

        Assert.Equal(a.Distinct().Distinct, b.DistinctOnly());
    }

    [Fact]
    public void NoRecords_GiveNoDigests()
    {
        var (distinct, map) = new KkrtDigests().Distinct();
        Assert.Empty(distinct);
        Assert.Empty(map);
        Assert.Empty(new KkrtDigests().DistinctOnly());
    }

    [Fact]
    public void ADigestOfTheWrongLength_IsRefused() =>
        Assert.Throws<ArgumentException>(() => new KkrtDigests().AddDigest(new byte[15]));
}
