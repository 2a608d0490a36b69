"""The ctypes binding of libsodium's ristretto255: RFC 9496 Appendix A known answers, refusals, batched forms."""

from __future__ import annotations

import os

import pytest

from smpc.crypto import ristretto as r

# RFC 9496 Appendix A.1: encodings of the multiples 0 … 15 of the generator.
MULTIPLES = """
0000000000000000000000000000000000000000000000000000000000000000
e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76
6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919
94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259
da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57
e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e
f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403
44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d
903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c
02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031
20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f
bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42
e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460
aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f
46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e
e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e
""".split()

# RFC 9496 Appendix A.2: invalid encodings (non-canonical field encodings, negative field elements, non-square x^2,
# negative xy, s = -1 which causes y = 0).
INVALID = """
00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
0100000000000000000000000000000000000000000000000000000000000000
01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20
c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562
c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78
47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24
f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72
87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309
26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371
4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f
de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b
bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042
2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08
f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22
8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731
2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b
3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e
a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220
d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e
8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32
32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b
227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165
5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e
445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b
ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f
""".split()

# RFC 9496 Appendix A.3: element derivation (the one-way map from 64 uniform bytes).
FROM_HASH = [
    ("5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c14d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
     "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"),
    ("f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b270102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
     "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"),
    ("8422e1bbdaab52938b81fd602effb6f89110e1e57208ad12d9ad767e2e25510c27140775f9337088b982d83d7fcf0b2fa1edffe51952cbe7365e95c86eaf325c",
     "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"),
    ("ac22415129b61427bf464e17baee8db65940c233b98afce8d17c57beeb7876c2150d15af1cb1fb824bbd14955f2b57d08d388aab431a391cfc33d5bafb5dbbaf",
     "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"),
    ("165d697a1ef3d5cf3c38565beefcf88c0f282b8e7dbd28544c483432f1cec7675debea8ebb4e5fe7d6f6e5db15f15587ac4d4d4a1de7191e0c1ca6664abcc413",
     "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"),
    ("a836e6c9a9ca9f1e8d486273ad56a78c70cf18f0ce10abb1c7172ddd605d7fd2979854f47ae1ccf204a33102095b4200e5befc0465accc263175485f0e17ea5c",
     "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"),
    ("2cdc11eaeb95daf01189417cdddbf95952993aa9cb9c640eb5058d09702c74622c9965a697a3b345ec24ee56335b556e677b30e6f90ac77d781064f866a3c982",
     "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"),
]


def scalar(n: int) -> bytes:
    return (n % r.L).to_bytes(32, "little")


def test_multiples_of_the_generator():
    for i, expected in enumerate(MULTIPLES[1:], start=1):
        assert r.scalarmult_base(scalar(i)).hex() == expected
    # the same through the variable-base and batched calls
    g = bytes.fromhex(MULTIPLES[1])
    assert [r.scalarmult(scalar(i), g).hex() for i in range(1, 16)] == MULTIPLES[1:]
    assert r.scalarmult_each([scalar(i) for i in range(1, 16)], [g] * 15) == [bytes.fromhex(h) for h in MULTIPLES[1:]]


def test_identity_is_a_valid_point_but_not_a_valid_element():
    assert r.is_valid_point(r.IDENTITY)
    assert not r.is_valid_element(r.IDENTITY)
    assert all(r.is_valid_element(bytes.fromhex(h)) for h in MULTIPLES[1:])


@pytest.mark.parametrize("encoding", INVALID)
def test_invalid_encodings_are_refused(encoding):
    p = bytes.fromhex(encoding)
    assert not r.is_valid_point(p)
    assert not r.is_valid_element(p)
    with pytest.raises(r.InvalidElementError):
        r.scalarmult(scalar(7), p)


@pytest.mark.parametrize("uniform,expected", FROM_HASH)
def test_from_hash(uniform, expected):
    assert r.from_hash(bytes.fromhex(uniform)).hex() == expected


def test_from_hash_packed_matches_single_calls_and_threads_agree():
    data = os.urandom(64 * 700)
    single = b"".join(r.from_hash(data[i:i + 64]) for i in range(0, len(data), 64))
    assert r.from_hash_packed(data, threads=1) == single
    assert r.from_hash_packed(data, threads=3) == single
    assert r.from_hash_packed(bytes.fromhex("".join(u for u, _ in FROM_HASH))) == bytes.fromhex(
        "".join(e for _, e in FROM_HASH))


def test_scalarmult_refuses_identity_input_and_zero_scalar():
    g = bytes.fromhex(MULTIPLES[1])
    with pytest.raises(r.InvalidElementError):
        r.scalarmult(scalar(5), r.IDENTITY)
    with pytest.raises(r.InvalidElementError):
        r.scalarmult(scalar(0), g)
    with pytest.raises(r.InvalidElementError):
        r.scalarmult(scalar(5), g[:31])
    with pytest.raises(r.InvalidScalarError):
        r.scalarmult(b"\x01" * 31, g)
    with pytest.raises(r.InvalidScalarError):
        r.scalarmult_base(scalar(0))


def test_scalarmult_packed_names_the_first_bad_element_across_threads():
    k = r.scalar_random()
    points = r.from_hash_packed(os.urandom(64 * 800))
    bad = bytearray(points)
    bad[700 * 32:701 * 32] = bytes.fromhex(INVALID[3])
    bad[750 * 32:751 * 32] = r.IDENTITY
    with pytest.raises(r.InvalidElementError) as err:
        r.scalarmult_packed(k, bytes(bad), threads=4)
    assert err.value.index == 700
    single = b"".join(r.scalarmult(k, points[i:i + 32]) for i in range(0, len(points), 32))
    assert r.scalarmult_packed(k, points, threads=1) == single
    assert r.scalarmult_packed(k, points, threads=2) == single
    with pytest.raises(r.InvalidElementError):
        r.scalarmult_packed(k, points[:-1])


def test_check_elements_packed():
    points = r.from_hash_packed(os.urandom(64 * 300))
    r.check_elements_packed(points)
    for i, bad in [(0, r.IDENTITY), (299, bytes.fromhex(INVALID[10]))]:
        broken = points[:i * 32] + bad + points[(i + 1) * 32:]
        with pytest.raises(r.InvalidElementError) as err:
            r.check_elements_packed(broken, threads=2)
        assert err.value.index == i


def test_scalar_arithmetic():
    a, b = r.scalar_random(), r.scalar_random()
    ai, bi = int.from_bytes(a, "little"), int.from_bytes(b, "little")
    assert int.from_bytes(r.scalar_mul(a, b), "little") == ai * bi % r.L
    assert int.from_bytes(r.scalar_invert(a), "little") == pow(ai, -1, r.L)
    wide = os.urandom(64)
    assert int.from_bytes(r.scalar_reduce(wide), "little") == int.from_bytes(wide, "little") % r.L
    with pytest.raises(r.InvalidScalarError):
        r.scalar_invert(scalar(0))


@pytest.mark.parametrize("count", [0, 1, 2, 3, 257, 1000])
def test_batch_inversion_equals_single_inversions(count):
    scalars = r.scalar_random_many(count)
    inverses = r.scalar_invert_many(scalars)
    assert len(inverses) == 32 * count
    for i, s in enumerate(scalars):
        assert int.from_bytes(inverses[i * 32:(i + 1) * 32], "little") == pow(int.from_bytes(s, "little"), -1, r.L)


def test_batch_inversion_refuses_zero_naming_it():
    scalars = r.scalar_random_many(5)
    scalars[3] = bytes(32)
    with pytest.raises(r.InvalidScalarError, match="scalar 3"):
        r.scalar_invert_many(scalars)
    scalars[3] = r.L.to_bytes(32, "little")  # 0 mod L, not reduced
    with pytest.raises(r.InvalidScalarError):
        r.scalar_invert_many(scalars)


def test_random_scalars_are_reduced_distinct_and_non_zero():
    scalars = r.scalar_random_many(2000)
    assert len(set(scalars)) == 2000
    values = [int.from_bytes(s, "little") for s in scalars]
    assert all(0 < v < r.L for v in values)
    # uniform below L: about half of them have bit 251 set (binomial, 2000 draws: 0.4 … 0.6 is over 8 sigma wide)
    assert 0.4 < sum(v >> 251 for v in values) / len(values) < 0.6


def test_pack_and_unpack():
    items = [os.urandom(32) for _ in range(4)]
    assert r.unpack(r.pack(items)) == items
    with pytest.raises(r.InvalidElementError) as err:
        r.pack([items[0], b"short"])
    assert err.value.index == 1
