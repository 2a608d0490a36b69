namespace Smpc.Protocols.Tests;

public sealed class ProtocolErrorTests
{
    [Fact]
    public void ErrorCodes_AreStable()
    {
        // Callers (grains, gateway problems) persist and compare these numbers: they must never change.
        Assert.Equal(1, (int)ProtocolError.Malformed);
        Assert.Equal(2, (int)ProtocolError.OutOfOrder);
        Assert.Equal(3, (int)ProtocolError.Duplicate);
        Assert.Equal(4, (int)ProtocolError.Contradictory);
        Assert.Equal(8, (int)ProtocolError.BoundsExceedFieldRange);
        Assert.Equal(12, (int)ProtocolError.DecryptionFailed);
        Assert.Equal(16, (int)ProtocolError.DisclosureRefused);
        Assert.Equal(17, (int)ProtocolError.InvalidElement);
        Assert.Equal(20, (int)ProtocolError.PolicyRefused);
        Assert.Equal(21, (int)ProtocolError.SenderNotAuthenticated);
        Assert.Equal(22, (int)ProtocolError.LowOrderPoint);
        Assert.Equal(23, (int)ProtocolError.UnsupportedVersion);
    }

    [Fact]
    public void EveryTypedException_IsAProtocolExceptionCarryingItsCode()
    {
        ProtocolException[] errors =
        [
            new MessageRejectedException(ProtocolError.Duplicate, "m"),
            new InputRejectedException(ProtocolError.ValueOutOfBounds, "f", "m"),
            new CryptographicCheckException(ProtocolError.BadSignature, "m"),
        ];
        Assert.Equal([ProtocolError.Duplicate, ProtocolError.ValueOutOfBounds, ProtocolError.BadSignature], errors.Select(e => e.Error));
    }
}
