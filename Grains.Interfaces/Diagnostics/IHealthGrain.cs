namespace Smpc.Grains.Interfaces.Diagnostics;

/// <summary>Readiness probe executed inside a silo: proves the cluster answers and its storage is reachable.</summary>
[Alias("smpc.health")]
public interface IHealthGrain : IGrainWithIntegerKey
{
    /// <summary>Opens a storage connection and runs a trivial query; throws a storage-unavailable error when that fails.</summary>
    [Alias("check")] Task<string> CheckAsync();
}
