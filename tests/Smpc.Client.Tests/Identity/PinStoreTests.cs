using Smpc.Client.Identity;
using Xunit;

namespace Smpc.Client.Tests.Identity;

public sealed class PinStoreTests : IDisposable
{
    private const string A = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string B = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    private readonly string directory = Directory.CreateTempSubdirectory("pins-").FullName;
    private readonly List<string> notices = [];

    private string File => Path.Combine(directory, "sub", "pins.json");

    private PinStore Store(bool tofu = true, IEnumerable<Pin>? configured = null) => new(File, configured, tofu, notices.Add);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void FirstUsePinsLoudlyAndDurably()
    {
        Assert.Equal(A, Store().Resolve("t", PinKinds.Pod, "p1", A.ToUpperInvariant().Replace("SHA256:", "sha256:")));
        var notice = Assert.Single(notices);
        Assert.StartsWith("FIRST USE: pinned pod 'p1' of tenant 't' to " + A, notice);

        var reopened = Store();
        var pin = Assert.Single(reopened.List());
        Assert.Equal(("t", PinKinds.Pod, "p1", A, PinSources.FirstUse), (pin.Tenant, pin.Kind, pin.Id, pin.Fingerprint, pin.Source));
        Assert.Equal(A, reopened.Resolve("t", PinKinds.Pod, "p1", A));
        Assert.Single(notices); // no second notice once pinned
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(File));
    }

    [Fact]
    public void AChangedIdentityIsAHardStopAndChangesNothing()
    {
        Store().Resolve("t", PinKinds.Modeller, "m", A);
        var before = System.IO.File.ReadAllBytes(File);
        var e = Assert.Throws<PinMismatchException>(() => Store().Resolve("t", PinKinds.Modeller, "m", B));
        Assert.Equal((A, B), (e.Pinned, e.Presented));
        Assert.Contains("pinned to " + A, e.Message);
        Assert.Equal(before, System.IO.File.ReadAllBytes(File));
    }

    [Fact]
    public void KindsAndTenantsAreSeparateNamespaces()
    {
        var store = Store();
        store.Resolve("t", PinKinds.Pod, "x", A);
        Assert.Equal(B, store.Resolve("t", PinKinds.Modeller, "x", B));
        Assert.Equal(B, store.Resolve("u", PinKinds.Pod, "x", B));
        Assert.Equal(3, store.List().Count);
    }

    [Fact]
    public void WithoutTrustOnFirstUseAnUnpinnedMemberIsRefused()
    {
        var e = Assert.Throws<PinMismatchException>(() => Store(tofu: false).Resolve("t", PinKinds.Pod, "p1", A));
        Assert.Null(e.Pinned);
        Assert.False(System.IO.File.Exists(File));
        Assert.Empty(notices);
    }

    [Fact]
    public void ConfiguredPinsWinAndAreNeverWritten()
    {
        var store = Store(configured: [new Pin("t", PinKinds.Pod, "p1", A, "", default)]);
        Assert.Equal(A, store.Resolve("t", PinKinds.Pod, "p1", A));
        Assert.Throws<PinMismatchException>(() => store.Resolve("t", PinKinds.Pod, "p1", B));
        Assert.Equal(PinSources.Configured, Assert.Single(store.List()).Source);
        Assert.False(System.IO.File.Exists(File));
        Assert.Throws<InvalidOperationException>(() => store.Remove("t", PinKinds.Pod, "p1"));
    }

    [Fact]
    public void AddIsIdempotentRefusesAChangeAndRemoveUndoesIt()
    {
        var store = Store();
        Assert.Equal(PinSources.Added, store.Add("t", PinKinds.Pod, "p1", A).Source);
        store.Add("t", PinKinds.Pod, "p1", A);
        Assert.Throws<PinMismatchException>(() => store.Add("t", PinKinds.Pod, "p1", B));
        Assert.True(store.Remove("t", PinKinds.Pod, "p1"));
        Assert.False(store.Remove("t", PinKinds.Pod, "p1"));
        store.Add("t", PinKinds.Pod, "p1", B);
        Assert.Equal(B, Store(tofu: false).Resolve("t", PinKinds.Pod, "p1", null));
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("md5:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("sha256:gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg")]
    public void BadFingerprintsAreRefused(string fingerprint)
    {
        Assert.Throws<ArgumentException>(() => Store().Add("t", PinKinds.Pod, "p1", fingerprint));
        Assert.Throws<PinMismatchException>(() => Store().Resolve("t", PinKinds.Pod, "p1", fingerprint));
        Assert.False(System.IO.File.Exists(File));
    }

    [Fact]
    public void AnUnknownKindIsRefused() => Assert.Throws<ArgumentException>(() => Store().Add("t", "admin", "x", A));

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"version":2,"pins":[]}""")]
    [InlineData("""{"version":1,"pins":[{"tenant":"t","kind":"pod","id":"p","fingerprint":"sha256:aa","source":"added","pinnedAt":"2026-01-01T00:00:00Z"}]}""")]
    public void ADamagedFileIsReportedWhenOpened(string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(File)!);
        System.IO.File.WriteAllText(File, content);
        Assert.Throws<InvalidDataException>(() => Store());
    }

    [Fact]
    public void ATwicePinnedMemberInTheFileIsReported()
    {
        var store = Store();
        store.Add("t", PinKinds.Pod, "p1", A);
        var json = System.IO.File.ReadAllText(File);
        var entry = json[(json.IndexOf('{', 1))..(json.IndexOf('}', json.IndexOf('{', 1)) + 1)];
        System.IO.File.WriteAllText(File, json.Replace(entry, entry + "," + entry));
        Assert.Throws<InvalidDataException>(() => Store());
    }

    [Fact]
    public void AStoreWithoutAPathKeepsFirstUsePinsInMemory()
    {
        var store = new PinStore(null, notice: notices.Add);
        store.Resolve("t", PinKinds.Pod, "p1", A);
        Assert.Contains("in memory only", Assert.Single(notices));
        Assert.Throws<PinMismatchException>(() => store.Resolve("t", PinKinds.Pod, "p1", B));
    }
}
