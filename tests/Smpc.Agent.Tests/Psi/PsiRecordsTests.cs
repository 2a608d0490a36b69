using System.Text;
using Smpc.Agent.DataSources;
using Smpc.Client.Psi;
using Smpc.Contracts;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Agent.Tests.Psi;

public sealed class PsiRecordsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("smpc-psi-records-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Read_CountsSkippedRowsPerReason_AndKeepsTheFirstProblem()
    {
        var csv = new StringBuilder("name,email,phone\n");
        csv.Append("Ann,ann@example.com,(+44) 7000-012345\n");   // issue #14's spelling: kept
        csv.Append(",,\n");                                        // blank
        csv.Append("Bob,bob@example.com,12\n");                    // phone too short
        csv.Append("Cy,not-an-email,+44 20 7946 0958\n");          // email
        csv.Append("Di,di@example.com,n/a\n");                     // phone not a number
        csv.Append(" , ,\u00A0\n");                                // blank (White_Space only)
        await File.WriteAllTextAsync(Path.Combine(_directory, "list.csv"), csv.ToString(), new UTF8Encoding(false));
        PsiColumnRequest[] columns = [new("name", "text"), new("email", "email"), new("phone", "phone", "44")];

        var stats = new PsiReadStats();
        var rows = new List<long>();
        await using (var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "list.csv" }, _directory))
        {
            await foreach (var batch in PsiRecords.ReadAsync(source, columns, 100, stats)) rows.AddRange(batch.Rows);
        }

        Assert.Equal([0L], rows);
        Assert.Equal(6, stats.Rows);
        Assert.Equal(5, stats.Skipped);
        Assert.Equal(
            new Dictionary<string, long>
            {
                [RecordRefusal.Blank] = 2,
                [RecordRefusal.PhoneTooShort] = 1,
                [RecordRefusal.EmailInvalid] = 1,
                [RecordRefusal.PhoneNotANumber] = 1,
            },
            stats.SkippedByReason);
        Assert.StartsWith("row 3: column 'phone'", stats.FirstProblem, StringComparison.Ordinal);
        Assert.True(stats.SkippedTooMany);
        Assert.Equal("blank 2, email-invalid 1, phone-not-a-number 1, phone-too-short 1", stats.ReasonSummary());
    }

    [Theory]
    [InlineData(1000, 10, false)]
    [InlineData(1000, 11, true)]
    [InlineData(0, 0, false)]
    public void SkippedTooMany_MeansMoreThanOnePercent(long rows, long skipped, bool warn)
    {
        var stats = new PsiReadStats { Rows = rows };
        for (var i = 0; i < skipped; i++) stats.Skip(RecordRefusal.Blank);
        Assert.Equal(warn, stats.SkippedTooMany);
    }
}
