using Orleans.Serialization;

namespace Smpc.ApiGateway.Hosting;

/// <summary>Serialization settings silos and gateways must share.</summary>
public static class ClusterSerialization
{
    /// <summary>
    /// Lets Orleans carry Npgsql exceptions between processes. Without it a database failure that escapes a grain outside
    /// a call (loading state on activation) cannot be serialized, and the caller sees a codec error instead of the cause.
    /// </summary>
    public static IServiceCollection AddSmpcExceptionSerialization(this IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));
}
