using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Payloads;

namespace Smpc.Grains.Tests;

public sealed class EntityKeyTests
{
    [Fact]
    public void ToString_ThenParse_RoundTrips()
    {
        var key = new EntityKey("acme", "session-1");
        Assert.Equal("acme/session-1", key.ToString());
        Assert.Equal(key, EntityKey.Parse(key.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("acme")]
    [InlineData("/s1")]
    [InlineData("acme/")]
    [InlineData("acme/s1/x")]
    [InlineData("Acme/s1")]
    [InlineData("acme/-s1")]
    [InlineData("acme/s 1")]
    public void TryParse_RejectsMalformedKeys(string key) => Assert.False(EntityKey.TryParse(key, out _));

    [Fact]
    public void Constructor_RejectsIdsThatCouldForgeAnotherTenantsKey() =>
        Assert.Throws<ArgumentException>(() => new EntityKey("acme", "other/s1"));

    [Fact]
    public void Ids_AreLimitedTo63Characters()
    {
        Assert.True(EntityKey.IsValidId(new string('a', 63)));
        Assert.False(EntityKey.IsValidId(new string('a', 64)));
    }

    [Fact]
    public void PayloadKey_RoundTrips()
    {
        var key = new PayloadKey(new EntityKey("acme", "s1"), "masked-p1");
        Assert.Equal("acme/s1/masked-p1", key.ToString());
        Assert.Equal(key, PayloadKey.Parse(key.ToString()));
    }
}
