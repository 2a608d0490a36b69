namespace Smpc.Grains.Storage;

/// <summary>
/// Embedded mode keeps every tenant's state in one SQLite file: its directory is owner-only (0700) and the database files
/// owner-only (0600). SQLite gives its -wal and -shm files the database file's permissions, so creating the database file
/// as 0600 before SQLite opens it covers them.
/// </summary>
public static class OwnerOnly
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the directory as 0700, or narrows an existing one to 0700.</summary>
    public static void Directory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path);
            return;
        }

        System.IO.Directory.CreateDirectory(path, DirectoryMode);
        if (File.GetUnixFileMode(path) != DirectoryMode) File.SetUnixFileMode(path, DirectoryMode);
    }

    /// <summary>Creates the SQLite database file as 0600 if missing, and narrows it and its -wal/-shm files to 0600.</summary>
    public static void DatabaseFiles(string databasePath)
    {
        if (OperatingSystem.IsWindows() || databasePath is ":memory:" || databasePath.Length == 0) return;
        if (!File.Exists(databasePath))
        {
            using var created = new FileStream(databasePath, new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode });
        }

        foreach (var file in new[] { databasePath, databasePath + "-wal", databasePath + "-shm" })
        {
            if (File.Exists(file) && File.GetUnixFileMode(file) != FileMode) File.SetUnixFileMode(file, FileMode);
        }
    }
}
