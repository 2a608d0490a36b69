using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Net;
using System.Net.Sockets;
using Smpc.Grains.Interfaces.Webhooks;

namespace Smpc.Grains.Webhooks;

/// <summary>Registers webhook delivery in a silo: options, the HTTP client, the sender and the start-up wake of dispatchers.</summary>
public static class WebhookHostingExtensions
{
    /// <summary>
    /// Adds what the webhook dispatchers need. The HTTP client follows no redirect (a receiver cannot bounce a signed
    /// event to another address) and has no timeout of its own (each attempt has <see cref="WebhookOptions.Timeout"/>).
    /// </summary>
    public static ISiloBuilder AddSmpcWebhooks(this ISiloBuilder silo, IConfiguration? configuration = null)
    {
        var options = silo.Services.AddOptions<WebhookOptions>();
        if (configuration is not null) options.Bind(configuration.GetSection(WebhookOptions.Section));
        silo.Services.AddHttpClient(WebhookSender.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(services => CreateHandler(services.GetRequiredService<IOptions<WebhookOptions>>().Value));
        silo.Services.AddSingleton<WebhookSender>();
        silo.AddStartupTask(async (services, _) =>
        {
            try
            {
                await services.GetRequiredService<IGrainFactory>().GetWebhookTenants().WakeAllAsync();
            }
            catch (Exception ex)
            {
                // Not fatal: reminders (cluster) and the next audit append still wake each dispatcher.
                services.GetService<ILoggerFactory>()?.CreateLogger("Smpc.Grains.Webhooks").LogWarning("Could not wake the webhook dispatchers at start: {Error}", ex.GetType().Name + ": " + ex.Message);
            }
        });
        return silo;
    }

    /// <summary>
    /// The webhook client's handler: no redirects, no cookies. In a cluster (loopback http not allowed, private addresses
    /// not allowed) it resolves the host itself and connects only when no address is internal
    /// (<see cref="WebhookUrlRule.IsInternal"/>), to the very addresses it checked: so a DNS name that points inside, or
    /// is re-pointed there after registration (rebinding), fails the attempt with <see cref="WebhookAddressRefusedException"/>.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(WebhookOptions options)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5), UseCookies = false, UseProxy = false };
        if (!options.AllowLoopbackHttp && !options.AllowPrivateAddresses) handler.ConnectCallback = ConnectPublicAsync;
        return handler;
    }

    private static async ValueTask<Stream> ConnectPublicAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var addresses = IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        if (addresses.Length == 0 || addresses.Any(WebhookUrlRule.IsInternal)) throw new WebhookAddressRefusedException();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A webhook's host resolved to an internal address, which a cluster does not connect to.</summary>
public sealed class WebhookAddressRefusedException() : Exception("The webhook's host resolves to an address the service does not connect to.");
