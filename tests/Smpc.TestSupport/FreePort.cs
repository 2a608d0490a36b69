using System.Net;
using System.Net.Sockets;

namespace Smpc.TestSupport;

/// <summary>
/// Loopback ports nobody listens on at the moment of the call. The port is not held: another process may bind it before
/// the one it is meant for does, so whatever starts a listener on it must retry on a new port when the bind fails
/// (<see cref="ServiceProcess.StartReadyAsync"/>, <see cref="BindConflict"/>).
/// </summary>
public static class FreePort
{
    private static readonly HashSet<int> Handed = [];

    /// <summary>A free TCP port on 127.0.0.1 not handed out before in this process.</summary>
    public static int Next()
    {
        lock (Handed)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Handed.Add(port)) return port;
            }
        }
    }
}
