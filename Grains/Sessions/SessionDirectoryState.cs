using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions;

/// <summary>
/// A session id's directory entry: the kind of session stored under it and its modeller. It is stored where the single
/// session grain of earlier versions stored the whole session, with the same property names, so an old row reads as an
/// entry (its other properties are ignored here; the kind's grain imports them).
/// </summary>
public sealed class SessionDirectoryState
{
    public SessionKind Kind { get; set; }
    public string? ModellerId { get; set; }
}
