using System.Text;
using Smpc.Agent.DataSources;
using Smpc.Client.Psi;
using Smpc.Client.Records;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Samples;

namespace Smpc.Agent.Tests.Psi;

public sealed class CustomerListGeneratorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("smpc-psi-customers-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Write_PlantedPairsAreExactlyTheRowsWhoseEncodingsMatch()
    {
        var planted = CustomerListGenerator.Write(Path("modeller.csv"), Path("pod.csv"), modellerRows: 400, podRows: 600, overlap: 60, seed: 7);

        var modeller = await ReadAsync("modeller.csv", ["client_ref", "full_name", "mail", "telephone"]);
        var pod = await ReadAsync("pod.csv", ["customer_id", "name", "email", "phone"]);
        var modellerEncoder = Encoder("full_name", "mail", "telephone");
        var podEncoder = Encoder("name", "email", "phone");
        var podByEncoding = new Dictionary<string, string?[]>(StringComparer.Ordinal);
        foreach (var row in pod) podByEncoding.TryAdd(Convert.ToHexString(podEncoder.Encode(row[1..])), row);
        var matches = modeller
            .Select(row => (Row: row, Pod: podByEncoding.GetValueOrDefault(Convert.ToHexString(modellerEncoder.Encode(row[1..])))))
            .Where(m => m.Pod is not null)
            .ToList();

        Assert.Equal(400, modeller.Count);
        Assert.Equal(600, pod.Count);
        Assert.Equal(60, planted.Count);
        Assert.Equal(planted.Order(StringComparer.Ordinal), planted);
        Assert.Equal(planted, matches.Select(m => m.Row[0]!).Order(StringComparer.Ordinal));
        Assert.True(pod.Count - podByEncoding.Count >= 2, "the pod list repeats a few rows");
        Assert.Contains(pod.GroupBy(r => string.Join('\u0001', r)), g => g.Count() > 1); // exact copies, customer_id included

        foreach (var (row, podRow) in matches)
        {
            var (name, email, phone) = (row[1]!, row[2]!, row[3]!);
            var (podName, podEmail, podPhone) = (podRow![1]!, podRow[2]!, podRow[3]!);
            var podNameTidy = string.Join(' ', podName.Normalize(NormalizationForm.FormC).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            Assert.NotEqual(name, podNameTidy);                                          // case differs
            Assert.Equal(name, podNameTidy, ignoreCase: true);                           // ... and only case, once spacing and form are tidied
            Assert.NotEqual(podName.Normalize(NormalizationForm.FormC), podNameTidy);    // spacing differs
            Assert.NotEqual(email, podEmail);
            Assert.Equal(email, podEmail, ignoreCase: true);
            Assert.NotEqual(phone, podPhone);
        }

        Assert.Contains(matches, m => !m.Pod![1]!.IsNormalized(NormalizationForm.FormC));   // some names are NFD on the pod side
        Assert.Contains(matches, m => m.Row[3]!.StartsWith('0') != m.Pod![3]!.StartsWith('0')); // national vs international phone forms
    }

    [Fact]
    public void Write_IsDeterministicInTheSeed()
    {
        var first = CustomerListGenerator.Write(Path("a1.csv"), Path("b1.csv"), 50, 80, 10, seed: 3);
        var again = CustomerListGenerator.Write(Path("a2.csv"), Path("b2.csv"), 50, 80, 10, seed: 3);
        var other = CustomerListGenerator.Write(Path("a3.csv"), Path("b3.csv"), 50, 80, 10, seed: 4);

        Assert.Equal(first, again);
        Assert.Equal(File.ReadAllBytes(Path("a1.csv")), File.ReadAllBytes(Path("a2.csv")));
        Assert.Equal(File.ReadAllBytes(Path("b1.csv")), File.ReadAllBytes(Path("b2.csv")));
        Assert.NotEqual(File.ReadAllBytes(Path("b1.csv")), File.ReadAllBytes(Path("b3.csv")));
        Assert.Equal(10, other.Count);
    }

    [Fact]
    public void Write_RefusesAnOverlapLargerThanAList() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CustomerListGenerator.Write(Path("a.csv"), Path("b.csv"), 10, 5, 6));

    private static RecordEncoder Encoder(string name, string email, string phone) =>
        new([new ColumnSpec(name, ColumnKind.Text), new ColumnSpec(email, ColumnKind.Email), new ColumnSpec(phone, ColumnKind.Phone, "44")]);

    private string Path(string name) => System.IO.Path.Combine(_directory, name);

    /// <summary>The requested columns of every row, in the order asked for.</summary>
    private async Task<List<string?[]>> ReadAsync(string file, IReadOnlyList<string> columns)
    {
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = file }, _directory);
        var indices = RecordColumns.Resolve(source, columns);
        var rows = new List<string?[]>();
        await foreach (var row in source.ReadRowsAsync()) rows.Add([.. indices.Select(i => row[i])]);
        return rows;
    }
}
