namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>
/// A session's entry point under its id: records which kind of session the id holds (and whose it is) and hands every
/// <see cref="ISessionGrain"/> call to that kind's grain. Keyed <c>"{tenant}/{session}"</c>.
/// </summary>
[Alias("smpc.session.directory")]
public interface ISessionDirectoryGrain : ISessionGrain
{
    /// <summary>The kind of the session stored under this id, or null if none is.</summary>
    [Alias("kind"), Orleans.Concurrency.AlwaysInterleave] Task<SessionKind?> GetKindAsync();
}
