namespace Smpc.Client.Identity;

/// <summary>What a pin names: a pod's or a modeller's long-term identity key (pods and modellers are separate namespaces).</summary>
public static class PinKinds
{
    /// <summary>A pod's Ed25519 identity key.</summary>
    public const string Pod = "pod";

    /// <summary>A modeller's Ed25519 identity key.</summary>
    public const string Modeller = "modeller";

    /// <summary>True for a known kind.</summary>
    public static bool IsKnown(string kind) => kind is Pod or Modeller;
}
