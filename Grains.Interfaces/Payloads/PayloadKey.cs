using Smpc.Grains.Interfaces.Keys;

namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>Key of a large payload owned by a session: <c>"{tenant}/{session}/{name}"</c>.</summary>
[GenerateSerializer, Immutable, Alias("smpc.payload-key")]
public readonly record struct PayloadKey
{
    [Id(0)] public EntityKey Session { get; }
    [Id(1)] public string Name { get; }

    /// <summary>Creates a payload key; the name follows the same rules as ids.</summary>
    public PayloadKey(EntityKey session, string name)
    {
        if (!EntityKey.IsValidId(name)) throw new ArgumentException($"'{name}' is not a valid payload name ({EntityKey.IdPattern}).", nameof(name));
        Session = session;
        Name = name;
    }

    /// <summary>Parses <c>"{tenant}/{session}/{name}"</c>.</summary>
    public static PayloadKey Parse(string key)
    {
        var last = key.LastIndexOf('/');
        if (last <= 0 || !EntityKey.TryParse(key[..last], out var session) || !EntityKey.IsValidId(key[(last + 1)..]))
            throw new FormatException($"'{key}' is not a payload key.");
        return new PayloadKey(session, key[(last + 1)..]);
    }

    public override string ToString() => $"{Session}/{Name}";
}
