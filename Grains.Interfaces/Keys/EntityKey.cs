using System.Diagnostics.CodeAnalysis;

namespace Smpc.Grains.Interfaces.Keys;

/// <summary>A tenant-scoped grain key of the form <c>"{tenant}/{id}"</c>; the only place keys are built or parsed.</summary>
[GenerateSerializer, Immutable, Alias("smpc.entity-key")]
public readonly record struct EntityKey
{
    /// <summary>Identifiers are lower-case ASCII letters, digits and hyphens, 1–63 characters, starting with a letter or digit.</summary>
    public const string IdPattern = "^[a-z0-9][a-z0-9-]{0,62}$";

    [Id(0)] public string Tenant { get; }
    [Id(1)] public string Id { get; }

    /// <summary>Creates a key, validating both parts.</summary>
    public EntityKey(string tenant, string id)
    {
        if (!IsValidId(tenant)) throw new ArgumentException($"'{tenant}' is not a valid tenant id ({IdPattern}).", nameof(tenant));
        if (!IsValidId(id)) throw new ArgumentException($"'{id}' is not a valid id ({IdPattern}).", nameof(id));
        Tenant = tenant;
        Id = id;
    }

    /// <summary>True when <paramref name="value"/> is a valid tenant or entity id.</summary>
    /// <remarks>A plain character check, not a regex: .NET's <c>$</c> also matches before a final newline, so "x\n" passed.</remarks>
    public static bool IsValidId([NotNullWhen(true)] string? value)
    {
        if (value is null || value.Length is 0 or > 63 || value[0] == '-') return false;
        foreach (var ch in value)
        {
            if (ch is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')) return false;
        }

        return true;
    }

    /// <summary>Parses a grain key string.</summary>
    public static EntityKey Parse(string key) =>
        TryParse(key, out var parsed) ? parsed : throw new FormatException($"'{key}' is not a tenant-scoped key.");

    /// <summary>Parses a grain key string without throwing.</summary>
    public static bool TryParse(string? key, out EntityKey parsed)
    {
        parsed = default;
        var slash = key?.IndexOf('/') ?? -1;
        if (key is null || slash <= 0) return false;
        var tenant = key[..slash];
        var id = key[(slash + 1)..];
        if (!IsValidId(tenant) || !IsValidId(id)) return false;
        parsed = new EntityKey(tenant, id);
        return true;
    }

    /// <summary>The grain key string.</summary>
    public override string ToString() => $"{Tenant}/{Id}";
}
