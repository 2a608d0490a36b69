namespace Smpc.Agent;

/// <summary>
/// Where a pod keeps its party state between steps so it resumes after a restart. The state holds secrets (mask keys, the
/// self-mask seed, shares held for peers), so the file is owner-only, replaced atomically, and deleted when the session ends.
/// </summary>
public sealed class PartyStateFile(string path)
{
    public string Path { get; } = path;

    public byte[]? Load() => File.Exists(Path) ? File.ReadAllBytes(Path) : null;

    /// <summary>Writes the state durably: owner-only file in an owner-only directory, fsynced, renamed over the old one, directory fsynced.</summary>
    public void Save(byte[] state)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        OwnerOnlyDirectory(directory);
        var temp = Path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(temp, options))
        {
            file.Write(state);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
        SyncDirectory(directory); // the rename itself survives a crash only once the directory entry is on disk
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(state);
    }

    /// <summary>Overwrites the state with zeros, then deletes it (and a leftover temporary file).</summary>
    public void Delete()
    {
        foreach (var path in new[] { Path, Path + ".tmp" })
        {
            if (!File.Exists(path)) continue;
            try
            {
                using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                    file.Write(new byte[file.Length]);
                    file.Flush(flushToDisk: true);
                }
            }
            catch (IOException)
            {
                // deleting matters more than wiping
            }

            File.Delete(path);
        }
    }

    /// <summary>Creates <paramref name="directory"/> as owner-only (0700), or narrows an existing one to that.</summary>
    public static void OwnerOnlyDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(directory, OwnerOnly);
        if (File.GetUnixFileMode(directory) != OwnerOnly) File.SetUnixFileMode(directory, OwnerOnly);
    }

    /// <summary>fsync of a directory (POSIX), so renames and deletions in it are durable.</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
