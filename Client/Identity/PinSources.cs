namespace Smpc.Client.Identity;

/// <summary>Where a pin came from.</summary>
public static class PinSources
{
    /// <summary>From the party's configuration (agent <c>pins</c>, CLI <c>--pin</c>); never written to the store.</summary>
    public const string Configured = "configured";

    /// <summary>Added by hand with <c>smpc pins add</c>.</summary>
    public const string Added = "added";

    /// <summary>Trusted on first use: taken from the service's registry the first time, announced loudly, fixed from then on.</summary>
    public const string FirstUse = "first-use";
}
