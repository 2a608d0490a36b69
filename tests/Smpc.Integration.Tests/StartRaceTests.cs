using System.Net;
using System.Net.Sockets;
using Smpc.TestSupport;

namespace Smpc.Integration.Tests;

/// <summary>
/// A port picked as free can be taken by another process before the service binds it (a busy machine running suites in
/// parallel). These tests take it on purpose at that moment and expect the start to succeed anyway.
/// </summary>
public sealed class StartRaceTests
{
    [Fact]
    public async Task EmbeddedSilo_WhoseSiloPortIsTakenBeforeItBinds_IsStartedAgainOnNewPorts()
    {
        using var thief = new TcpListener(IPAddress.Loopback, 0);
        thief.Start();
        var stolen = ((IPEndPoint)thief.LocalEndpoint).Port;
        var picks = new List<ServicePorts>();
        ServicePorts Pick()
        {
            var ports = picks.Count == 0 ? ServicePorts.Fresh() with { Silo = stolen } : ServicePorts.Fresh();
            picks.Add(ports);
            return ports;
        }

        var data = Path.Combine(Path.GetTempPath(), "smpc-race-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using var silo = await Services.StartEmbeddedAsync(data, pickPorts: Pick);

            Assert.Equal(2, picks.Count);
            Assert.Equal(new Uri($"http://127.0.0.1:{picks[1].Http}/"), silo.BaseAddress);
            Assert.Equal("ready", (await Services.OperatorFor(silo).GetReadinessAsync()).Status);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
