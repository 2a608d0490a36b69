namespace Smpc.Client.SecureAggregation;

/// <summary>
/// Where a pod keeps its party state between steps so it resumes after a restart. The state holds secrets (mask keys, the
/// self-mask seed, shares held for peers), so the file is owner-only, replaced atomically, and deleted when the session ends.
/// </summary>
public sealed class PartyStateFile(string path)
{
    public string Path { get; } = path;

    public byte[]? Load() => File.Exists(Path) ? File.ReadAllBytes(Path) : null;

    public void Save(byte[] state)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        var temp = Path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(temp, options))
        {
            file.Write(state);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(state);
    }

    public void Delete()
    {
        if (File.Exists(Path)) File.Delete(Path);
    }
}
