using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

public sealed class MaskedInputSummerTests
{
    [Fact]
    public void ChunkSums_WrittenOneAfterAnother_GiveTheFullSum_AndTheWholeVectorWrapperAgrees()
    {
        var random = new DeterministicTestRandom(21);
        var layout = VectorLayout.Single(FieldSpec.Integer("c", 23, 0, 10));
        var p = SessionParameters.Create("s", 3, layout, new byte[32], chunkElements: 5);
        var vectors = Enumerable.Range(1, 3).ToDictionary(
            i => i,
            i => Enumerable.Range(0, 23).Select(_ => random.NextUInt64Below(p.Field.Modulus)).ToArray());

        // The service's way: one chunk index at a time, every survivor's chunk (in wire form), then the next chunk.
        var chunkWise = new List<ulong>();
        for (var k = 0; k < p.ChunkCount; k++)
        {
            var summer = MaskedChunkSummer.For(p, [1, 2, 3], k);
            foreach (var (party, vector) in vectors.Reverse())
            {
                var chunk = MaskedInputChunk.Split("s", party, vector, 5)[k];
                summer.Add(party, System.Runtime.InteropServices.MemoryMarshal.AsBytes(chunk.Elements.AsSpan()));
            }

            Assert.Equal(p.ChunkLength(k) * 8, summer.ToBytes().Length);
            chunkWise.AddRange(summer.GetSum());
        }

        var whole = new MaskedInputSummer(p, [1, 2, 3]);
        foreach (var chunk in vectors.SelectMany(v => MaskedInputChunk.Split("s", v.Key, v.Value, 5)).Reverse())
        {
            whole.Accept(chunk);
        }

        var expected = new ulong[23];
        foreach (var v in vectors.Values)
        {
            p.Field.AddReference(expected, v);
        }

        Assert.Equal(expected, chunkWise);
        Assert.Equal(expected, whole.GetSum());
    }

    [Fact]
    public void ChunkSummer_RefusesRepeatsStrangersWrongLengthsAndNonCanonicalElements_AndAnIncompleteSum()
    {
        var p = SessionParameters.Create("s", 3, VectorLayout.Single(FieldSpec.Integer("c", 7, 0, 10)), new byte[32], chunkElements: 4);
        var summer = MaskedChunkSummer.For(p, [1, 2], 1);
        Assert.Equal(3, summer.Length);
        summer.Add(1, [1UL, 2, 3]);
        Assert.Equal(ProtocolError.Duplicate, Assert.Throws<MessageRejectedException>(() => summer.Add(1, [1UL, 2, 3])).Error);
        Assert.Equal(ProtocolError.UnknownParty, Assert.Throws<MessageRejectedException>(() => summer.Add(3, [1UL, 2, 3])).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => summer.Add(2, [1UL, 2, 3, 4])).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => summer.Add(2, [1UL, 2, ulong.MaxValue])).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => summer.Add(2, new byte[23])).Error);
        Assert.Equal(ProtocolError.OutOfOrder, Assert.Throws<MessageRejectedException>(summer.GetSum).Error);
        Assert.Equal(ProtocolError.Malformed, Assert.Throws<MessageRejectedException>(() => MaskedChunkSummer.For(p, [1, 2], 2)).Error);
        summer.Add(2, [p.Field.Modulus - 1, 0, 0]);
        Assert.Equal([0UL, 2, 3], summer.GetSum());
    }
}
