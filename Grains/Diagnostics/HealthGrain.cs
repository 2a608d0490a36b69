using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Diagnostics;

/// <summary>Answers readiness probes from inside the cluster, with a real round trip to storage.</summary>
[GrainType("health"), StatelessWorker]
public sealed class HealthGrain(SmpcDatabase database) : Grain, IHealthGrain
{
    async Task<string> IHealthGrain.CheckAsync()
    {
        try
        {
            await using var connection = await database.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync();
            return database.Provider.ToString();
        }
        catch (Exception ex)
        {
            database.ResetAfterFailure(ex);
            throw SmpcException.StorageUnavailable("health", ex);
        }
    }
}
