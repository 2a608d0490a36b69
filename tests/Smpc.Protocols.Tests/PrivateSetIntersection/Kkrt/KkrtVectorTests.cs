using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>
/// The kkrt-v1 known answers, docs/protocols/vectors/kkrt-v1.json: every deterministic step (d, h_i, C, G_j, the random
/// element, KDF, base-OT keys from fixed scalars, PRG blocks, transposed rows, Tag) and a whole small session with fixed
/// randomness. Regenerate with <c>SMPC_UPDATE_KKRT_VECTORS=1 dotnet test tests/Smpc.Protocols.Tests --filter KkrtVector</c>;
/// docs/protocols/vectors/check_kkrt_v1.py recomputes the symmetric-key parts independently (Python standard library).
/// </summary>
public sealed class KkrtVectorTests
{
    private static readonly string[] ModellerRecords = ["alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org", "frank@example.org"];
    private static readonly string[] PodRecords = ["bob@example.org", "zoe@example.org", "erin@example.org", "yann@example.org", "alice@example.org"];

    private static string FilePath()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Smpc.Orleans.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine(directory?.FullName ?? throw new InvalidOperationException("repository root not found"), "docs", "protocols", "vectors", "kkrt-v1.json");
    }

    private static JsonObject Committed() => JsonNode.Parse(File.ReadAllText(FilePath()))!.AsObject();

    private static string H(ReadOnlySpan<byte> bytes) => Hex.Of(bytes);

    private static byte[] Fixed(string label, int length)
    {
        // Fixed test inputs: SHA-256("kkrt-v1 vector " ‖ label), repeated, cut to length.
        var output = new byte[length];
        for (var block = 0; block * 32 < length; block++)
        {
            var hash = SHA256.HashData(System.Text.Encoding.ASCII.GetBytes($"kkrt-v1 vector {label} {block}"));
            hash.AsSpan(0, Math.Min(32, length - (block * 32))).CopyTo(output.AsSpan(block * 32));
        }

        return output;
    }

    private static byte[] FixedScalar(string label) => Ristretto255.ReduceWide(Fixed(label, 64));

    private static byte[] Digest(string record)
    {
        var digest = new byte[16];
        KkrtItems.Digest(System.Text.Encoding.UTF8.GetBytes(record), digest);
        return digest;
    }

    internal static JsonObject Compute()
    {
        var root = new JsonObject
        {
            ["version"] = KkrtPsiVersion.Current,
            ["notes"] = "Bytes are lowercase hex. Fixed inputs are SHA-256(\"kkrt-v1 vector <label> <block>\") blocks; scalars are those 64 bytes reduced mod l. " +
                "The session draws randomness from DeterministicTestRandom(seed) (tests/Smpc.Protocols.Tests): block k = SHA-256(LE32(seed) || LE64(k)); " +
                "the modeller (seed 1) draws the 16-byte eviction-walk key, then hk (16 bytes) per cuckoo attempt, then 64 bytes per b_j; " +
                "the pod (seed 2) draws ck (16), s (64), then per j a_j (64 bytes, reduced) and a 32-byte element seed.",
        };

        // 1. Item digests.
        var digests = new JsonArray();
        foreach (var record in ModellerRecords.Concat(PodRecords).Distinct())
        {
            digests.Add(new JsonObject { ["record"] = record, ["digest"] = H(Digest(record)) });
        }

        root["digests"] = digests;

        // 2. Cuckoo positions and 3. code words.
        var hk = Fixed("hk", 16);
        var ck = Fixed("ck", 16);
        const int Bins = 265;
        var positions = new JsonArray();
        var codes = new JsonArray();
        using (var hashAes = new Aes128Ecb(hk))
        using (var codeAes = new Aes128Ecb(ck))
        {
            foreach (var record in ModellerRecords[..3])
            {
                var d = Digest(record);
                var p = new int[3];
                KkrtPrimitives.Positions(hashAes, d, Bins, p);
                positions.Add(new JsonObject { ["digest"] = H(d), ["h"] = new JsonArray(p[0], p[1], p[2]) });
                var c = new JsonArray();
                for (var i = 0; i < 3; i++)
                {
                    var code = new byte[64];
                    KkrtPrimitives.Code(codeAes, d, i, code);
                    c.Add(H(code));
                }

                codes.Add(new JsonObject { ["digest"] = H(d), ["code"] = c });
            }
        }

        root["cuckoo"] = new JsonObject { ["hk"] = H(hk), ["bins"] = Bins, ["positions"] = positions };
        root["code"] = new JsonObject { ["ck"] = H(ck), ["words"] = codes };

        // 4. Hash-to-group, random element, KDF, and one base OT per choice from fixed scalars.
        var seed = Fixed("ot seed", 32);
        var randomElement = new byte[32];
        KkrtPrimitives.OtRandomElement(seed, randomElement);
        var hashes = new JsonArray();
        foreach (var j in new[] { 0, 1, 511 })
        {
            var g = new byte[32];
            KkrtPrimitives.OtHash(j, randomElement, g);
            hashes.Add(new JsonObject { ["j"] = j, ["point"] = H(randomElement), ["g"] = H(g) });
        }

        root["h2g"] = new JsonObject { ["randomSeed"] = H(seed), ["randomElement"] = H(randomElement), ["otHash"] = hashes };

        var kdfInput = (R0: Fixed("kdf r0", 32), R1: Fixed("kdf r1", 32), B: Fixed("kdf b", 32), S: Fixed("kdf s", 32));
        var kdfKey = new byte[16];
        KkrtPrimitives.OtKey(7, 1, kdfInput.R0, kdfInput.R1, kdfInput.B, kdfInput.S, kdfKey);
        root["kdf"] = new JsonObject { ["j"] = 7, ["c"] = 1, ["r0"] = H(kdfInput.R0), ["r1"] = H(kdfInput.R1), ["b"] = H(kdfInput.B), ["shared"] = H(kdfInput.S), ["key"] = H(kdfKey) };

        var baseOts = new JsonArray();
        foreach (var (j, choice) in new[] { (3, 0), (300, 1) })
        {
            var a = FixedScalar($"a {j}");
            var b = FixedScalar($"b {j}");
            var otSeed = Fixed($"seed {j}", 32);
            var r0 = new byte[32];
            var r1 = new byte[32];
            KkrtBaseOt.ReceiverMessage(j, choice, a, otSeed, r0, r1);
            var bPoint = new byte[32];
            var k0 = new byte[16];
            var k1 = new byte[16];
            KkrtBaseOt.Sender(j, r0, r1, b, bPoint, k0, k1);
            var k = new byte[16];
            KkrtBaseOt.ReceiverKey(j, choice, a, r0, r1, bPoint, k);
            baseOts.Add(new JsonObject
            {
                ["j"] = j,
                ["choice"] = choice,
                ["a"] = H(a),
                ["b"] = H(b),
                ["seed"] = H(otSeed),
                ["r0"] = H(r0),
                ["r1"] = H(r1),
                ["B"] = H(bPoint),
                ["k0"] = H(k0),
                ["k1"] = H(k1),
                ["receiverKey"] = H(k),
            });
        }

        root["baseOt"] = baseOts;

        // 5. PRG blocks, a transposed matrix, tags.
        var prgKey = Fixed("prg", 16);
        var stream = new byte[48];
        AesCtrPrg.Generate(prgKey, 0, stream);
        var far = new byte[16];
        AesCtrPrg.Generate(prgKey, 1000, far);
        root["prg"] = new JsonObject { ["key"] = H(prgKey), ["blocks0to2"] = H(stream), ["block1000"] = H(far) };

        var columnKeys = Fixed("columns", 512 * 16);
        const int MatrixBins = 256;
        var columns = new byte[512 * (MatrixBins / 8)];
        for (var j = 0; j < 512; j++)
        {
            AesCtrPrg.Generate(columnKeys.AsSpan(j * 16, 16), 0, columns.AsSpan(j * (MatrixBins / 8), MatrixBins / 8));
        }

        var rows = new byte[MatrixBins * 64];
        BitMatrix.ColumnsToRows(columns, MatrixBins / 8, MatrixBins, rows);
        var selected = new JsonArray();
        foreach (var bin in new[] { 0, 1, 131, 255 })
        {
            selected.Add(new JsonObject { ["bin"] = bin, ["row"] = H(rows.AsSpan(bin * 64, 64)) });
        }

        root["matrix"] = new JsonObject { ["keys"] = "SHA-256 blocks of label \"columns\": key j = bytes [16j, 16j+16)", ["bins"] = MatrixBins, ["rows"] = selected, ["rowsSha256"] = H(SHA256.HashData(rows)) };

        var tagRow = Fixed("tag row", 64);
        var tag = new byte[11];
        KkrtPrimitives.WriteTag(KkrtPrimitives.Tag(70_000, tagRow, 11), tag);
        root["tag"] = new JsonObject { ["bin"] = 70_000, ["row"] = H(tagRow), ["length"] = 11, ["tag"] = H(tag) };

        // 6. A whole session.
        var modeller = ModellerRecords.SelectMany(Digest).ToArray();
        var pod = PodRecords.SelectMany(Digest).ToArray();
        using var receiver = new KkrtPsiReceiver(modeller, new DeterministicTestRandom(1));
        using var sender = new KkrtPsiSender(ModellerRecords.Length, new DeterministicTestRandom(2));
        var setup = sender.CreateSetup();
        var s = sender.ChoiceRowForTests;
        receiver.ReadSetup(setup);
        var header = receiver.QueryHeader();
        var queryRows = new byte[receiver.Bins * 64];
        receiver.WriteRows(0, (int)receiver.Bins, queryRows);
        sender.ReadQueryHeader(header);
        sender.ReadQueryRows(0, queryRows);
        sender.EndQuery();
        var reply = sender.Reply(pod);
        var matches = receiver.Match(reply);
        var assignment = new JsonArray();
        for (var k = 0; k < ModellerRecords.Length; k++)
        {
            assignment.Add(new JsonObject { ["record"] = ModellerRecords[k], ["function"] = (int)receiver.Table.ItemFunction[k], ["bin"] = receiver.Table.ItemBin[k] });
        }

        root["session"] = new JsonObject
        {
            ["modellerRecords"] = new JsonArray([.. ModellerRecords.Select(r => JsonValue.Create(r))]),
            ["podRecords"] = new JsonArray([.. PodRecords.Select(r => JsonValue.Create(r))]),
            ["modellerSeed"] = 1,
            ["podSeed"] = 2,
            ["bins"] = receiver.Bins,
            ["tagBytes"] = receiver.TagBytes,
            ["hk"] = H(header.AsSpan(0, 16)),
            ["ck"] = H(setup.AsSpan(0, 16)),
            ["s"] = H(s),
            ["assignment"] = assignment,
            ["k0"] = H(receiver.OtKeysForTests(0)),
            ["k1"] = H(receiver.OtKeysForTests(1)),
            ["queryHeader"] = H(header),
            ["setupLength"] = setup.Length,
            ["setupSha256"] = H(SHA256.HashData(setup)),
            ["queryLength"] = header.Length + queryRows.Length,
            ["querySha256"] = H(SHA256.HashData([.. header, .. queryRows])),
            ["firstRow"] = H(queryRows.AsSpan(0, 64)),
            ["reply"] = H(reply),
            ["matched"] = new JsonArray([.. matches.Matched.Select(m => JsonValue.Create(m))]),
        };
        return root;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Fact]
    public void CommittedVectors_AreWhatTheCodeComputes_ByteForByte()
    {
        var computed = Compute();
        var path = FilePath();
        if (Environment.GetEnvironmentVariable("SMPC_UPDATE_KKRT_VECTORS") == "1")
        {
            File.WriteAllText(path, computed.ToJsonString(Indented) + "\n");
        }

        Assert.True(File.Exists(path), $"{path} is missing: run the test once with SMPC_UPDATE_KKRT_VECTORS=1 and commit it.");
        var committed = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(committed.Select(p => p.Key), computed.Select(p => p.Key));
        foreach (var (key, value) in computed)
        {
            Assert.Equal(committed[key]!.ToJsonString(), value!.ToJsonString());
        }
    }

    [Fact]
    public void Session_MatchesExactlyTheCommonRecords()
    {
        var session = Committed()["session"]!;
        Assert.Equal([true, true, false, false, true, false], session["matched"]!.AsArray().Select(m => (bool)m!).ToArray());
        Assert.Equal(KkrtParameters.SetupBytes, (int)session["setupLength"]!);
        Assert.Equal(KkrtParameters.QueryBytes(6), (long)session["queryLength"]!.GetValue<int>());
        Assert.Equal(KkrtParameters.ReplyBytes(6, 5) * 2, ((string)session["reply"]!).Length);
    }

    [Fact]
    public void FixedScalarBaseOts_GiveTheChosenKey()
    {
        foreach (var ot in Committed()["baseOt"]!.AsArray())
        {
            var choice = (int)ot!["choice"]!;
            Assert.Equal((string)ot[choice == 0 ? "k0" : "k1"]!, (string)ot["receiverKey"]!);
            Assert.NotEqual((string)ot[choice == 0 ? "k1" : "k0"]!, (string)ot["receiverKey"]!);
        }
    }
}
