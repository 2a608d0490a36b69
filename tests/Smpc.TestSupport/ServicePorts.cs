namespace Smpc.TestSupport;

/// <summary>The three ports a silo process listens on: HTTP (health, REST when co-hosted), the silo-to-silo port and the Orleans client gateway port.</summary>
public sealed record ServicePorts(int Http, int Silo, int Gateway)
{
    /// <summary>Three ports nobody listens on right now (see <see cref="FreePort"/>: not held, so a start may still lose one).</summary>
    public static ServicePorts Fresh() => new(FreePort.Next(), FreePort.Next(), FreePort.Next());

    /// <summary>The silo's environment settings for its Orleans ports.</summary>
    public IReadOnlyDictionary<string, string> SiloSettings => new Dictionary<string, string>
    {
        ["Smpc__SiloPort"] = Silo.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Smpc__GatewayPort"] = Gateway.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
