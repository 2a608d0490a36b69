using Orleans.Concurrency;
using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Diagnostics;

/// <summary>Answers readiness probes from inside the cluster: free space on an embedded data volume, then a real write to storage.</summary>
[GrainType("health"), StatelessWorker]
public sealed class HealthGrain(SmpcDatabase database) : Grain, IHealthGrain
{
    private const int ProbeTimeoutSeconds = 2;

    async Task<string> IHealthGrain.CheckAsync()
    {
        try
        {
            // SQLite in WAL mode can go on rewriting pages it already has on a full disk, so a tiny write alone would not
            // notice; the free space of the data volume is checked first.
            if (database.Provider == DatabaseProvider.Sqlite && database.FreeDiskBytes() is { } free && free < SmpcDatabase.MinFreeDiskBytes)
                throw new IOException($"only {free:N0} bytes are free on the data volume (at least {SmpcDatabase.MinFreeDiskBytes:N0} are needed to be ready)");

            // A write, not only a read: a held lock or a read-only database lets reads through while every write fails.
            await using var connection = await database.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandTimeout = ProbeTimeoutSeconds; // SQLite: how long to wait for a lock; shorter than the gateway's readiness timeout
            command.CommandText = "INSERT INTO smpc_health (probe, checked_at) VALUES (@probe, @at) ON CONFLICT (probe) DO UPDATE SET checked_at = excluded.checked_at";
            SmpcDatabase.AddParameter(command, "probe", "readiness");
            SmpcDatabase.AddParameter(command, "at", database.Provider == DatabaseProvider.PostgreSql ? DateTimeOffset.UtcNow : DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            await command.ExecuteNonQueryAsync();
            return database.Provider.ToString();
        }
        catch (Exception ex)
        {
            database.ResetAfterFailure(ex);
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.OperationTag, "health"));
            throw SmpcException.StorageUnavailable("health", ex);
        }
    }
}
