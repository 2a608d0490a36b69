using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

internal static class PsiTestData
{
    public static readonly RecordEncoder Encoder = new([new("email", ColumnKind.Email), new("name", ColumnKind.Text)]);

    /// <summary>Client and server record sets sharing exactly the planted indices (with formatting noise on the server side).</summary>
    public static (byte[][] Client, byte[][] Server, int[] Planted) Make(int clientSize, int serverOnly, int seed)
    {
        var random = new DeterministicTestRandom(seed);
        var client = new List<byte[]>();
        var server = new List<byte[]>();
        var planted = new List<int>();
        for (var i = 0; i < clientSize; i++)
        {
            client.Add(Encoder.Encode([$"person{seed}.{i}@example.org", $"Person {i}"]));
            if (random.NextInt(0, 3) == 0)
            {
                planted.Add(i);
                server.Add(Encoder.Encode([$"  PERSON{seed}.{i}+crm@Example.ORG", $"person   {i} "]));
            }
        }

        for (var i = 0; i < serverOnly; i++)
        {
            server.Add(Encoder.Encode([$"other{seed}.{i}@example.org", $"Other {i}"]));
        }

        server.Add(server[0]);
        return ([.. client], [.. server], [.. planted]);
    }
}
