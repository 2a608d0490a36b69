using Smpc.Client.SecureAggregation;

namespace Smpc.Agent.Tests;

/// <summary>The pod agent's secret state on disk: owner-only directory and file, atomic durable replace, wiped on delete.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PartyStateFileTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "smpc-state-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void Save_CreatesAnOwnerOnlyDirectoryAndFile_AndNarrowsAWiderDirectory()
    {
        var directory = Path.Combine(_root, "state");
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var file = new PartyStateFile(Path.Combine(directory, "s1.party"));

        file.Save([1, 2, 3]);
        file.Save([4, 5]);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.Path));
        Assert.Equal([4, 5], file.Load());
        Assert.False(File.Exists(file.Path + ".tmp"));
    }

    [Fact]
    public void Delete_WipesAndRemovesTheStateAndALeftoverTemporaryFile()
    {
        var file = new PartyStateFile(Path.Combine(_root, "s2.party"));
        file.Save([9, 9, 9, 9]);
        File.WriteAllBytes(file.Path + ".tmp", [7, 7]);
        using (var held = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            file.Delete();

            // The open handle still sees the file's blocks: they were overwritten with zeros before the unlink.
            var seen = new byte[4];
            held.ReadExactly(seen);
            Assert.Equal(new byte[4], seen);
        }

        Assert.False(File.Exists(file.Path));
        Assert.False(File.Exists(file.Path + ".tmp"));
        Assert.Null(file.Load());
    }

    [Fact]
    public void Save_DoesNotReuseALeftoverTemporaryFile_WhoseModeIsWider()
    {
        var file = new PartyStateFile(Path.Combine(_root, "s3.party"));
        Directory.CreateDirectory(_root);
        File.WriteAllBytes(file.Path + ".tmp", [1]);
        File.SetUnixFileMode(file.Path + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        file.Save([5, 6, 7]);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.Path));
        Assert.Equal([5, 6, 7], file.Load());
    }

    [Fact]
    public void IdentityKeyFile_IsOwnerOnly_InANewOwnerOnlyDirectory_AndIsNeverOverwritten()
    {
        var path = Path.Combine(_root, "keys", "pod.identity.json");

        using (var created = Smpc.Agent.Identity.IdentityKeyFile.Create(path))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
            Assert.False(File.Exists(path + ".tmp"));
            using var loaded = Smpc.Agent.Identity.IdentityKeyFile.Load(path);
            Assert.Equal(created.Fingerprint, loaded.Fingerprint);
        }

        var before = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => Smpc.Agent.Identity.IdentityKeyFile.Create(path));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
