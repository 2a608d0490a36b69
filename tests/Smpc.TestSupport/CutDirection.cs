namespace Smpc.TestSupport;

/// <summary>Which way a <see cref="CuttingProxy"/> counts bytes before it drops a connection.</summary>
public enum CutDirection
{
    /// <summary>Request bytes (an upload's body).</summary>
    ClientToServer,

    /// <summary>Response bytes (a download's body, or an upload's answer).</summary>
    ServerToClient,
}
