namespace Smpc.Agent;

/// <summary>
/// Where a pod keeps its party state between steps so it resumes after a restart. The state holds secrets (mask keys, the
/// self-mask seed, shares held for peers), so the file is owner-only (0600) in an owner-only directory (0700), replaced
/// atomically and durably, and wiped (overwritten with zeros, then deleted) when the session ends. The agent writes every
/// other file that holds a secret or says whom the pod worked with the same way (member keys, PSI keys, ledgers).
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
        Delete(temp); // a crash's leftover would keep its old mode: the file must be created here, owner-only
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
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

    /// <summary>Overwrites the state with zeros, then deletes it (and a leftover temporary file), and makes the deletion durable.</summary>
    public void Delete()
    {
        var any = false;
        foreach (var path in new[] { Path, Path + ".tmp" }) any |= Delete(path);
        if (any) SyncDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
    }

    /// <summary>Overwrites one file with zeros, then deletes it; false if there was none.</summary>
    public static bool Delete(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            var zeros = new byte[(int)Math.Min(file.Length, 1 << 20)];
            for (var left = file.Length; left > 0; left -= zeros.Length) file.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
            file.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            // deleting matters more than wiping
        }
        catch (UnauthorizedAccessException)
        {
            // a read-only file is still deleted below
        }

        File.Delete(path);
        return true;
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
