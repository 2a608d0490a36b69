using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Sessions.Legacy;

/// <summary>
/// Reads a session stored by the single session grain of earlier versions: grain type <see cref="GrainType"/>, state
/// <see cref="StateName"/>, in the same storage. That row now belongs to the session's directory entry, which reads only
/// its kind and modeller from it; the kind's grain reads the whole of it once and stores it as its own state.
/// </summary>
internal static class LegacySessionStore
{
    /// <summary>The grain type the single session grain had (now the directory's, so the row stays where it is).</summary>
    public const string GrainType = "session";

    /// <summary>The state name the single session grain stored under.</summary>
    public const string StateName = "session";

    /// <summary>The legacy session stored under <paramref name="key"/>, or null if none is (a directory entry alone has no version).</summary>
    public static async Task<LegacySessionState?> ReadAsync(IGrainBase grain, string key)
    {
        var storage = grain.GrainContext.ActivationServices.GetRequiredKeyedService<IGrainStorage>(SmpcDatabase.GrainStorageName);
        var stored = new GrainState<LegacySessionState>(new LegacySessionState());
        await storage.ReadStateAsync(StateName, GrainId.Create(GrainType, key), stored);
        return stored.RecordExists && stored.State is { Version: > 0, ModellerId: not null } legacy ? legacy : null;
    }
}
