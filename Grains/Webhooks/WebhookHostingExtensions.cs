using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5), UseCookies = false });
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
}
