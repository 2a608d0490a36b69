using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;

namespace Smpc.Protocols.Tests.PrivateSetIntersection.Kkrt;

/// <summary>The Masny–Rindal base OTs and the OT extension against naive recomputations.</summary>
public sealed class KkrtOtTests
{
    [Fact]
    public void BaseOt_TheReceiverGetsExactlyTheKeyOfItsChoice()
    {
        var random = new DeterministicTestRandom(7);
        foreach (var j in new[] { 0, 1, 255, 511 })
        {
            foreach (var choice in new[] { 0, 1 })
            {
                var a = Ristretto255.RandomScalar(random);
                var b = Ristretto255.RandomScalar(random);
                var seed = random.NextBytes(32);
                var r0 = new byte[32];
                var r1 = new byte[32];
                Assert.True(KkrtBaseOt.ReceiverMessage(j, choice, a, seed, r0, r1));

                // Naive: R_s + G_j(R_{1−s}) = a·G, and R_{1−s} is the random element of the seed.
                var mine = choice == 0 ? r0 : r1;
                var other = choice == 0 ? r1 : r0;
                var random0 = new byte[32];
                KkrtPrimitives.OtRandomElement(seed, random0);
                Assert.Equal(random0, other);
                var hashed = new byte[32];
                KkrtPrimitives.OtHash(j, other, hashed);
                var sum = new byte[32];
                Assert.True(Ristretto255.TryAdd(mine, hashed, sum));
                Assert.Equal(Ristretto255.MultiplyBase(a), sum);

                var bPoint = new byte[32];
                var k0 = new byte[16];
                var k1 = new byte[16];
                KkrtBaseOt.Sender(j, r0, r1, b, bPoint, k0, k1);
                Assert.Equal(Ristretto255.MultiplyBase(b), bPoint);
                var k = new byte[16];
                KkrtBaseOt.ReceiverKey(j, choice, a, r0, r1, bPoint, k);
                Assert.Equal(choice == 0 ? k0 : k1, k);
                Assert.NotEqual(choice == 0 ? k1 : k0, k);

                // The same messages under another OT index give other keys (G_j and the KDF bind j).
                var kOther = new byte[16];
                KkrtBaseOt.ReceiverKey(j ^ 1, choice, a, r0, r1, bPoint, kOther);
                Assert.NotEqual(k, kOther);
            }
        }
    }

    [Fact]
    public void Session_TheSendersKeysAreTheReceiversChosenOnes()
    {
        var modeller = KkrtSession.Digests(Enumerable.Range(0, 10));
        using var receiver = new KkrtPsiReceiver(modeller, new DeterministicTestRandom(1));
        using var sender = new KkrtPsiSender(10, new DeterministicTestRandom(2));
        receiver.ReadSetup(sender.CreateSetup());
        sender.ReadQueryHeader(receiver.QueryHeader());
        var s = sender.ChoiceRowForTests;
        var chosen = sender.OtKeysForTests;
        var k0 = receiver.OtKeysForTests(0);
        var k1 = receiver.OtKeysForTests(1);
        var ones = 0;
        for (var j = 0; j < 512; j++)
        {
            var bit = KkrtPsiSender.Bit(s, j);
            ones += bit;
            Assert.Equal((bit == 0 ? k0 : k1).AsSpan(j * 16, 16).ToArray(), chosen.AsSpan(j * 16, 16).ToArray());
            Assert.NotEqual((bit == 0 ? k1 : k0).AsSpan(j * 16, 16).ToArray(), chosen.AsSpan(j * 16, 16).ToArray());
        }

        Assert.InRange(ones, 200, 312); // s is random: both choices are used
    }

    [Fact]
    public void OtExtension_EveryRowIsQEqualsT0XorCodeAndS_ComputedNaively()
    {
        // n = 12 gives m = 274 bins: rows across three PRG blocks, occupied and empty bins.
        var digests = KkrtSession.Digests(Enumerable.Range(0, 12));
        using var receiver = new KkrtPsiReceiver(digests, new DeterministicTestRandom(11));
        using var sender = new KkrtPsiSender(12, new DeterministicTestRandom(12));
        receiver.ReadSetup(sender.CreateSetup());
        var header = receiver.QueryHeader();
        sender.ReadQueryHeader(header);
        var rows = new byte[receiver.Bins * 64];
        receiver.WriteRows(0, 100, rows);
        receiver.WriteRows(100, (int)receiver.Bins - 100, rows.AsSpan(100 * 64));
        sender.ReadQueryRows(0, rows.AsSpan(0, 37 * 64));
        sender.ReadQueryRows(37, rows.AsSpan(37 * 64));

        var s = sender.ChoiceRowForTests;
        var k0 = receiver.OtKeysForTests(0);
        var k1 = receiver.OtKeysForTests(1);
        var ck = receiver.CodeKeyForTests;
        var hk = header[..16];
        var table = receiver.Table;
        var occupied = 0;
        for (var bin = 0; bin < receiver.Bins; bin++)
        {
            var t0 = KkrtNaive.Row(k0, bin);
            var t1 = KkrtNaive.Row(k1, bin);
            var item = table.BinItem[bin];
            var code = new byte[64];
            if (item >= 0)
            {
                occupied++;
                var digest = digests.AsSpan(item * 16, 16);
                var i = table.ItemFunction[item];
                Assert.Equal(bin, KkrtNaive.Position(hk, digest, i, receiver.Bins));
                code = KkrtNaive.Code(ck, digest, i);
            }

            Assert.Equal(KkrtNaive.Xor(KkrtNaive.Xor(t0, t1), code), rows.AsSpan(bin * 64, 64).ToArray());
            Assert.Equal(KkrtNaive.Xor(t0, KkrtNaive.And(code, s)), sender.QRowForTests(bin));
        }

        Assert.Equal(12, occupied);
    }
}
