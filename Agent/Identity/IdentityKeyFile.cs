using System.Text.Json;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;

namespace Smpc.Agent.Identity;

/// <summary>A pod's long-term Ed25519 identity key in a local JSON file (owner-only permissions); the private key never leaves it.</summary>
public static class IdentityKeyFile
{
    private sealed record Stored(string PrivateKey, string PublicKey, string Fingerprint);

    /// <summary>
    /// Creates a new identity key file; refuses to overwrite an existing one. The file is owner-only (0600), written to a
    /// temporary file, fsynced and renamed into place, then the directory is fsynced; a missing directory is created owner-only
    /// (0700). An existing directory keeps its mode: it may be a shared working directory.
    /// </summary>
    public static Ed25519KeyPair Create(string path)
    {
        if (File.Exists(path)) throw new IOException($"{path} exists; refusing to overwrite an identity key.");
        var pair = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var privateKey = pair.ExportPrivateKey();
        var stored = new Stored(Convert.ToBase64String(privateKey), Convert.ToBase64String(pair.PublicKey), pair.Fingerprint);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(privateKey);
        // Relaxed escaping keeps base64 '+' readable for people and shell tools; the file is never embedded in HTML.
        var bytes = JsonSerializer.SerializeToUtf8Bytes(stored, new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(directory)) PartyStateFile.OwnerOnlyDirectory(directory);
        var temp = path + ".tmp";
        File.Delete(temp); // a leftover of a crash: CreateNew below must make the file, so that it gets the owner-only mode
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var file = new FileStream(temp, options))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: false); // a key created meanwhile is not replaced
            PartyStateFile.SyncDirectory(directory);
        }
        catch
        {
            new PartyStateFile(temp).Delete();
            pair.Dispose();
            throw;
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
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
