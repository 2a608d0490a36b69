namespace Smpc.ApiGateway.Hosting;

/// <summary>Browser access to the API, bound from <c>Smpc:Gateway:Cors</c>.</summary>
public sealed class GatewayCorsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Smpc:Gateway:Cors";

    /// <summary>Origins allowed to call the API from a browser; empty (the default) sends no CORS headers at all.</summary>
    public string[] Origins { get; set; } = [];
}
