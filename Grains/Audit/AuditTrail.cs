using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Diagnostics;

namespace Smpc.Grains.Audit;

/// <summary>How grains record security-relevant events in their tenant's audit log.</summary>
internal static class AuditTrail
{
    /// <summary>
    /// Appends <paramref name="events"/> to <paramref name="tenant"/>'s audit log, stamped with the current W3C trace id
    /// unless an event carries its own.
    /// </summary>
    /// <remarks>
    /// Call it after the change it records is durably stored, and await it: the event then exists if and only if the change
    /// does, except after a crash between the two writes (the change stays, its event is missing). A failed append does
    /// not fail the caller's request (the change is already made, and most steps answer an idempotent retry without
    /// redoing it, so failing would not bring the event back); it is logged at Error with the event types and counted in
    /// <see cref="SmpcTelemetry.StorageFailures"/>, which operators alert on.
    /// </remarks>
    public static async Task RecordAsync(IGrainBase grain, string tenant, params AuditEvent[] events)
    {
        var trace = Activity.Current is { } current && current.TraceId != default ? current.TraceId.ToHexString() : null;
        var stamped = events.Select(e => e.TraceId is null && trace is not null ? e with { TraceId = trace } : e).ToArray();
        var services = grain.GrainContext.ActivationServices;
        try
        {
            await services.GetRequiredService<IGrainFactory>().GetAuditLog(tenant).AppendAsync(stamped);
        }
        catch (Exception ex)
        {
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.OperationTag, "audit.append"));
            Activity.Current?.AddEvent(new ActivityEvent("audit.append.failed"));
            services.GetService<ILoggerFactory>()?.CreateLogger("Smpc.Grains.Audit").LogError(
                "Could not record audit events {Types} of tenant {Tenant}: {Error}", string.Join(", ", events.Select(e => e.Type)), tenant, ex.GetType().Name + ": " + ex.Message);
        }
    }
}
