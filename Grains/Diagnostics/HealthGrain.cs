using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Diagnostics;

/// <summary>Answers readiness probes from inside the cluster, with a real write to storage.</summary>
[GrainType("health"), StatelessWorker]
public sealed class HealthGrain(SmpcDatabase database) : Grain, IHealthGrain
{
    async Task<string> IHealthGrain.CheckAsync()
    {
        try
        {
            // A write, not only a read: a full disk or a held lock lets reads through while every write fails.
            await using var connection = await database.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO smpc_health (probe, checked_at) VALUES (@probe, @at) ON CONFLICT (probe) DO UPDATE SET checked_at = excluded.checked_at";
            SmpcDatabase.AddParameter(command, "probe", "readiness");
            SmpcDatabase.AddParameter(command, "at", database.Provider == DatabaseProvider.PostgreSql ? DateTimeOffset.UtcNow : DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            await command.ExecuteNonQueryAsync();
            return database.Provider.ToString();
        }
        catch (Exception ex)
        {
            database.ResetAfterFailure(ex);
            throw SmpcException.StorageUnavailable("health", ex);
        }
    }
}
