using Smpc.Agent.Psi;
using Smpc.Protocols;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Agent.Tests.Psi;

/// <summary>The pod cuts the downloading kkrt query into its head and whole rows in bin order, whatever the chunk sizes.</summary>
public sealed class KkrtQueryFeedTests
{
    private static byte[] Query(int rows)
    {
        var bytes = new byte[KkrtParameters.QueryHeaderBytes + rows * KkrtParameters.RowBytes];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 31 + (i >> 8));
        return bytes;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(KkrtParameters.QueryHeaderBytes)]
    [InlineData(KkrtParameters.QueryHeaderBytes + 1)]
    [InlineData(1 << 20)]
    public void AnyChunking_GivesTheHeadOnceAndEveryRowOnceInOrder(int chunk)
    {
        var query = Query(300);
        byte[]? head = null;
        var rows = new List<byte>();
        long next = 0;
        var feed = new KkrtQueryFeed(h => { Assert.Null(head); head = h.ToArray(); }, (first, r) =>
        {
            Assert.Equal(next, first);
            Assert.Equal(0, r.Length % KkrtParameters.RowBytes);
            Assert.NotEqual(0, r.Length);
            next += r.Length / KkrtParameters.RowBytes;
            rows.AddRange(r.ToArray());
        });
        for (var at = 0; at < query.Length; at += chunk) feed.Add(query.AsSpan(at, Math.Min(chunk, query.Length - at)));
        feed.Complete();

        Assert.Equal(query[..KkrtParameters.QueryHeaderBytes], head);
        Assert.Equal(query[KkrtParameters.QueryHeaderBytes..], rows.ToArray());
        Assert.Equal(300, feed.Rows);
        Assert.Equal(query.Length, feed.Bytes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(KkrtParameters.QueryHeaderBytes - 1)]
    [InlineData(KkrtParameters.QueryHeaderBytes + 63)]
    [InlineData(KkrtParameters.QueryHeaderBytes + 65)]
    public void AQueryCutInsideTheHeadOrARow_IsRefusedAsMalformed(int length)
    {
        var feed = new KkrtQueryFeed(_ => { }, (_, _) => { });
        feed.Add(Query(2).AsSpan(0, length));
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<ProtocolException>(feed.Complete).Error);
    }

    [Fact]
    public void AHeadAlone_IsAWholeQueryOfNoRows_ForTheSenderToRefuseIfItExpectsSome()
    {
        var rows = 0L;
        var feed = new KkrtQueryFeed(_ => { }, (_, r) => rows += r.Length);
        feed.Add(Query(0));
        feed.Complete();
        Assert.Equal(0, rows);
        Assert.Equal(0, feed.Rows);
    }
}
