using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Tests.SecureAggregation;

public sealed class MaskedInputSummerTests
{
    [Fact]
    public void SummersOverChunkRanges_TogetherGiveTheFullSum()
    {
        var random = new DeterministicTestRandom(21);
        var layout = VectorLayout.Single(FieldSpec.Integer("c", 23, 0, 10));
        var p = SessionParameters.Create("s", 3, layout, new byte[32], chunkElements: 5);
        var vectors = Enumerable.Range(1, 3).ToDictionary(
            i => i,
            i => Enumerable.Range(0, 23).Select(_ => random.NextUInt64Below(p.Field.Modulus)).ToArray());

        var whole = new MaskedInputSummer(p, [1, 2, 3]);
        var left = new MaskedInputSummer(p, [1, 2, 3], firstChunk: 0, chunkCount: 2);
        var right = new MaskedInputSummer(p, [1, 2, 3], firstChunk: 2);
        foreach (var (party, vector) in vectors)
        {
            foreach (var chunk in MaskedInputChunk.Split("s", party, vector, 5))
            {
                whole.Accept(chunk);
                (chunk.ChunkIndex < 2 ? left : right).Accept(chunk);
            }
        }

        var expected = new ulong[23];
        foreach (var v in vectors.Values)
        {
            p.Field.AddReference(expected, v);
        }

        Assert.Equal(expected, whole.GetSum());
        Assert.Equal(expected, left.GetSum().Concat(right.GetSum()));
    }
}
