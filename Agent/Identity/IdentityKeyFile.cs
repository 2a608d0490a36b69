using System.Text.Json;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Agent.Identity;

/// <summary>A pod's long-term Ed25519 identity key in a local JSON file (owner-only permissions); the private key never leaves it.</summary>
public static class IdentityKeyFile
{
    private sealed record Stored(string PrivateKey, string PublicKey, string Fingerprint);

    /// <summary>Creates a new identity key file; refuses to overwrite an existing one.</summary>
    public static Ed25519KeyPair Create(string path)
    {
        if (File.Exists(path)) throw new IOException($"{path} exists; refusing to overwrite an identity key.");
        var pair = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var stored = new Stored(Convert.ToBase64String(pair.ExportPrivateKey()), Convert.ToBase64String(pair.PublicKey), pair.Fingerprint);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(path, options))
        {
            // Relaxed escaping keeps base64 '+' readable for people and shell tools; the file is never embedded in HTML.
            JsonSerializer.Serialize(file, stored, new JsonSerializerOptions(JsonSerializerDefaults.Web)
            {
                WriteIndented = true,
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            });
        }

        return pair;
    }

    /// <summary>Loads an identity key file and checks that its public key matches its private key.</summary>
    public static Ed25519KeyPair Load(string path)
    {
        var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), new JsonSerializerOptions(JsonSerializerDefaults.Web))
            ?? throw new InvalidDataException($"{path} is not an identity key file.");
        var pair = Ed25519KeyPair.FromPrivateKey(Convert.FromBase64String(stored.PrivateKey));
        if (Convert.ToBase64String(pair.PublicKey) != stored.PublicKey)
            throw new InvalidDataException($"{path}: the public key does not belong to the private key.");
        return pair;
    }
}
