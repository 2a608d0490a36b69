using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Smpc.Agent.DataSources;
using Smpc.Client.Records;
using Smpc.TestSupport;

namespace Smpc.Agent.Tests.DataSources;

public sealed class RecordSourceTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("smpc-psi-sources-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Csv_QuotedFields_KeepDelimitersDoubledQuotesAndLineBreaks()
    {
        var rows = await ReadCsvAsync("id,name,note\n1,\"Smith, Ann\",\"She said \"\"hi\"\"\"\n2,\"two\nlines\",\"a\r\nb\"\n3,5'11\",\n");

        Assert.Equal(["id", "name", "note"], rows.Columns);
        Assert.Equal<string?[]>(
            [["1", "Smith, Ann", "She said \"hi\""], ["2", "two\nlines", "a\r\nb"], ["3", "5'11\"", ""]],
            rows.Rows);
    }

    [Fact]
    public async Task Csv_RandomFieldsAcrossManyBuffers_RoundTripExactly_AndLineNumbersStayRight()
    {
        // Long runs, quoted delimiters, doubled quotes, CR, LF and CRLF inside and between records, over many 32K buffers,
        // so runs and line ends fall on every buffer boundary.
        var random = new Random(19);
        const string alphabet = "abcXYZ019 ,;\"'\r\n\té€";
        var expected = new List<string?[]>();
        var csv = new StringBuilder("a,b,c\n");
        var lines = 2L;
        for (var r = 0; r < 3000; r++)
        {
            var row = new string?[3];
            for (var f = 0; f < 3; f++)
            {
                var length = random.Next(4) == 0 ? random.Next(200, 3000) : random.Next(0, 12);
                var value = new string([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
                row[f] = value;
                if (f > 0) csv.Append(',');
                if (value.Length == 0 && f == 0 && r % 2 == 0) value = "\"\""; // an empty first field, quoted, so the line is not empty
                else if (value.IndexOfAny([',', '"', '\r', '\n']) >= 0) value = "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
                else if (value.Length == 0 && f == 0) value = "\"\"";
                csv.Append(value);
            }

            expected.Add(row);
            csv.Append((r % 3) switch { 0 => "\n", 1 => "\r\n", _ => "\r" });
        }

        csv.Append("1,2\n");
        foreach (var c in csv.ToString()[..^4].Replace("\r\n", "\n", StringComparison.Ordinal)) if (c is '\r' or '\n') lines++;
        await WriteAsync("random.csv", csv.ToString());
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "random.csv" }, _directory);
        var rows = new List<string?[]>();
        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var row in source.ReadRowsAsync()) rows.Add(row);
        });

        Assert.Equal(expected.Count, rows.Count);
        for (var r = 0; r < rows.Count; r++) Assert.Equal(expected[r], rows[r]);
        Assert.Equal($"csv random.csv: line {lines - 1} (row 3001) has 2 fields; the header has 3.", error.Message);
    }

    [Fact]
    public async Task Csv_StripsTheBom_AcceptsCrLf_AndIgnoresEmptyLines()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("id,name\r\n1,Zoë\r\n\r\n2,\"x\r\ny\"\r\n\r\n")).ToArray();
        await File.WriteAllBytesAsync(Path.Combine(_directory, "bom.csv"), bytes);

        var rows = await ReadAsync(new RecordSourceConfig { Path = "bom.csv" });

        Assert.Equal(["id", "name"], rows.Columns);
        Assert.Equal<string?[]>([["1", "Zoë"], ["2", "x\r\ny"]], rows.Rows);
    }

    [Fact]
    public async Task Csv_WithASemicolonDelimiter_KeepsCommasInValues_AndEmptyFieldsAreEmptyStrings()
    {
        var rows = await ReadCsvAsync("name;amount;note\nAnn;1,50;\n;;\"x;y\"", delimiter: ";");

        Assert.Equal(["name", "amount", "note"], rows.Columns);
        Assert.Equal<string?[]>([["Ann", "1,50", ""], ["", "", "x;y"]], rows.Rows);
    }

    [Fact]
    public async Task Csv_RowWithAnotherFieldCount_IsRefusedWithItsLineAndRowNumber()
    {
        // Line 3 starts a record that spans lines 3-4, so the short record "3" is on line 5 and is row 3.
        await WriteAsync("short.csv", "a,b\n1,2\n\"x\ny\",2\n3\n4,5\n");
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "short.csv" }, _directory);

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await DrainAsync(source));

        Assert.Equal("csv short.csv: line 5 (row 3) has 1 field; the header has 2.", error.Message);
    }

    [Theory]
    [InlineData("a,b\n\"open,2\n3,4\n", "line 2: a quoted field is not closed")]
    [InlineData("a,b\n1,2\n\"x\"y,2\n", "line 3: unexpected 'y' after the closing quote")]
    public async Task Csv_MalformedQuotes_AreRefusedWithTheLine(string text, string expected)
    {
        await WriteAsync("bad.csv", text);
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "bad.csv" }, _directory);

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await DrainAsync(source));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_InvalidUtf8_IsRefusedRatherThanReplaced()
    {
        await File.WriteAllBytesAsync(Path.Combine(_directory, "latin1.csv"), [.. "name\nAnn\nJos"u8, 0xE9, (byte)'\n']);
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "latin1.csv" }, _directory);

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await DrainAsync(source));

        Assert.Equal("csv latin1.csv: line 3: the file is not valid UTF-8 here (save it as UTF-8).", error.Message);
    }

    [Theory]
    [InlineData("", null, "the file is empty")]
    [InlineData("\n\n", null, "the file is empty")]
    [InlineData("a,b\n", "", "delimiter must be one character")]
    [InlineData("a,b\n", ";;", "delimiter must be one character")]
    [InlineData("a,b\n", "\"", "delimiter must be one character")]
    public async Task Csv_WithoutAHeaderOrWithABadDelimiter_IsRefused(string text, string? delimiter, string expected)
    {
        await WriteAsync("x.csv", text);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RecordSources.OpenAsync(new RecordSourceConfig { Path = "x.csv", Delimiter = delimiter ?? "," }, _directory));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_MissingFile_IsRefusedNamingIt()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => RecordSources.OpenAsync(new RecordSourceConfig { Path = "nope.csv" }, _directory));

        Assert.Contains(Path.Combine(_directory, "nope.csv"), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(",")]
    [InlineData(";")]
    [InlineData("\t")]
    public async Task Writer_ThenReader_RoundTripsAwkwardValues(string delimiter)
    {
        string?[] awkward = ["plain", "with,comma", "with;semicolon", "tab\there", "say \"hi\"", "\"", "line\nbreak", "crlf\r\nbreak", "  spaced  ", "Zoë Brontë", "", null];
        var path = Path.Combine(_directory, "round.csv");
        using (var writer = new CsvRowWriter(path, ["id", "value", "tail"], delimiter))
        {
            for (var i = 0; i < awkward.Length; i++) writer.WriteRow([i.ToString(System.Globalization.CultureInfo.InvariantCulture), awkward[i], "end"]);
            Assert.Equal(awkward.Length, writer.RowsWritten);
        }

        var rows = await ReadAsync(new RecordSourceConfig { Path = "round.csv", Delimiter = delimiter });

        Assert.Equal(["id", "value", "tail"], rows.Columns);
        Assert.Equal(awkward.Select(v => v ?? ""), rows.Rows.Select(r => r[1]));
        Assert.All(rows.Rows, r => Assert.Equal("end", r[2]));
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.NotEqual(0xEF, bytes[0]); // no BOM
        var text = Encoding.UTF8.GetString(bytes);
        Assert.StartsWith($"id{delimiter}value{delimiter}tail\n0{delimiter}plain{delimiter}end\n", text, StringComparison.Ordinal);
        Assert.Contains(delimiter == "," ? "\n1,\"with,comma\",end\n" : $"\n1{delimiter}with,comma{delimiter}end\n", text, StringComparison.Ordinal);
        Assert.Contains($"\n8{delimiter}  spaced  {delimiter}end\n", text, StringComparison.Ordinal); // spaces need no quotes
        Assert.Contains("\"say \"\"hi\"\"\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writer_SingleColumnWithEmptyValues_StillRoundTrips()
    {
        using (var writer = new CsvRowWriter(Path.Combine(_directory, "one.csv"), ["v"]))
        {
            writer.WriteRow(["a"]);
            writer.WriteRow([""]);
            writer.WriteRow([null]);
        }

        var rows = await ReadAsync(new RecordSourceConfig { Path = "one.csv" });

        Assert.Equal<string?[]>([["a"], [""], [""]], rows.Rows);
    }

    [Fact]
    public async Task Resolve_PrefersTheExactName_ThenAUniqueCaseInsensitiveOne()
    {
        await WriteAsync("cols.csv", "Name,name,EMAIL,Phone,phone_2\n");
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "cols.csv" }, _directory);

        Assert.Equal([1, 0, 2, 3], RecordColumns.Resolve(source, ["name", "Name", "email", "PHONE"]));
    }

    [Fact]
    public async Task Resolve_MissingOrAmbiguousColumn_IsRefusedListingTheColumns()
    {
        await WriteAsync("cols.csv", "Name,NAME,email\n");
        await using var source = await RecordSources.OpenAsync(new RecordSourceConfig { Path = "cols.csv" }, _directory);

        var missing = Assert.Throws<InvalidDataException>(() => RecordColumns.Resolve(source, ["email", "phone"]));
        var ambiguous = Assert.Throws<InvalidDataException>(() => RecordColumns.Resolve(source, ["name"]));

        Assert.Equal("csv cols.csv has no column 'phone'; its columns are 'Name', 'NAME', 'email'.", missing.Message);
        Assert.Contains("column 'name' is ambiguous, it matches 'Name', 'NAME'", ambiguous.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("excel", null, null, "Unknown record source kind 'excel'")]
    [InlineData("sqlite", null, null, "needs either a table or a query")]
    [InlineData("sqlite", "t", "SELECT 1", "needs either a table or a query, not both")]
    [InlineData("sqlite", "customers; DROP TABLE customers", null, "is not a table name")]
    [InlineData("sqlite", "a.b.c", null, "is not a table name")]
    [InlineData("sqlite", "1customers", null, "is not a table name")]
    [InlineData("postgres", "\"customers\"", null, "is not a table name")]
    [InlineData("postgres", "public.customers--", null, "is not a table name")]
    public async Task Open_BadConfiguration_IsRefused(string kind, string? table, string? query, string expected)
    {
        await WriteAsync("db.sqlite", "");
        var config = new RecordSourceConfig
        {
            Kind = kind,
            Path = kind == "sqlite" ? "db.sqlite" : null,
            ConnectionString = kind == "postgres" ? "Host=127.0.0.1;Port=1;Username=nobody" : null,
            Table = table,
            Query = query,
        };

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => RecordSources.OpenAsync(config, _directory));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Postgres_WithoutAConnectionString_IsRefused()
    {
        var variable = "SMPC_TEST_UNSET_" + Guid.NewGuid().ToString("N");

        var none = await Assert.ThrowsAsync<InvalidDataException>(() => RecordSources.OpenAsync(new RecordSourceConfig { Kind = "postgres", Table = "t" }, _directory));
        var unset = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RecordSources.OpenAsync(new RecordSourceConfig { Kind = "postgres", Table = "t", ConnectionStringEnvironmentVariable = variable }, _directory));

        Assert.Contains("needs connectionString or connectionStringEnvironmentVariable", none.Message, StringComparison.Ordinal);
        Assert.Contains($"environment variable {variable}", unset.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sqlite_TableAndQuery_StreamInvariantText_AndNullStaysNull()
    {
        var path = Path.Combine(_directory, "crm.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE customers (id INTEGER, name TEXT, score REAL, photo BLOB, note TEXT);
                INSERT INTO customers VALUES (9007199254740993, 'Zoë', 0.1, x'0102ff', NULL);
                INSERT INTO customers VALUES (2, 'Ann', -1.5e-7, NULL, 'vip');
                """;
            await command.ExecuteNonQueryAsync();
        }

        var table = await ReadAsync(new RecordSourceConfig { Kind = "sqlite", Path = "crm.db", Table = "main.customers" });
        var query = await ReadAsync(new RecordSourceConfig { Kind = "sqlite", Path = "crm.db", Query = "SELECT '<' || name || '>' AS shout, id * 2 AS twice FROM customers ORDER BY id" });

        Assert.Equal(["id", "name", "score", "photo", "note"], table.Columns);
        Assert.Equal<string?[]>(
            [["9007199254740993", "Zoë", "0.1", "AQL/", null], ["2", "Ann", "-1.5E-07", null, "vip"]],
            table.Rows);
        Assert.Equal(["shout", "twice"], query.Columns);
        Assert.Equal<string?[]>([["<Ann>", "4"], ["<Zoë>", "18014398509481986"]], query.Rows);
    }

    [Fact]
    public async Task Sqlite_IsOpenedReadOnly_AndErrorsNameTheSource()
    {
        var path = Path.Combine(_directory, "crm.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE customers (id INTEGER); INSERT INTO customers VALUES (1);";
            await command.ExecuteNonQueryAsync();
        }

        var write = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RecordSources.OpenAsync(new RecordSourceConfig { Kind = "sqlite", Path = "crm.db", Query = "DELETE FROM customers RETURNING id" }, _directory));
        var missingTable = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RecordSources.OpenAsync(new RecordSourceConfig { Kind = "sqlite", Path = "crm.db", Table = "clients" }, _directory));
        var missingFile = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RecordSources.OpenAsync(new RecordSourceConfig { Kind = "sqlite", Path = "other.db", Table = "clients" }, _directory));

        Assert.Contains("readonly", write.Message, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("sqlite table clients in crm.db: ", missingTable.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", missingFile.Message, StringComparison.Ordinal);
        Assert.Equal(["1"], (await ReadAsync(new RecordSourceConfig { Kind = "sqlite", Path = "crm.db", Table = "customers" })).Rows.Select(r => r[0]));
    }

    [Fact]
    public async Task Postgres_TableAndQuery_StreamInvariantText_NullStaysNull_AndNothingIsWritten()
    {
        await using var pg = await PostgresServer.StartAsync();
        var cs = await pg.CreateDatabaseAsync("psisrc");
        await using (var connection = new NpgsqlConnection(cs))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                CREATE TABLE public.customers (id bigint, name text, score numeric(10,2), ratio double precision, active boolean,
                    joined timestamp, seen timestamptz, born date, photo bytea, note text);
                INSERT INTO customers VALUES
                    (1, 'Zoë', 12.50, 0.1, true, '2024-03-01 12:34:56.789', '2024-03-01 12:00:00+00', '1990-05-17', '\x0102ff', NULL),
                    (2, 'Ann', NULL, -1.5e-7, false, NULL, NULL, NULL, NULL, 'vip');
                """,
                connection);
            await command.ExecuteNonQueryAsync();
        }

        var table = await ReadAsync(new RecordSourceConfig { Kind = "postgres", ConnectionString = cs, Table = "public.customers" });
        var variable = "SMPC_TEST_PSI_SOURCE_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, cs);
        RecordRows query;
        try
        {
            await using var source = await RecordSources.OpenAsync(
                new RecordSourceConfig { Kind = "postgres", ConnectionStringEnvironmentVariable = variable, Query = "SELECT '<' || name || '>' AS shout, id FROM customers ORDER BY id" },
                _directory);
            Assert.DoesNotContain("Password", source.Describe(), StringComparison.OrdinalIgnoreCase);
            Assert.StartsWith("postgres query (database psisrc_", source.Describe(), StringComparison.Ordinal);
            query = new RecordRows(source.Columns, await DrainAsync(source));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        var write = await Assert.ThrowsAsync<InvalidDataException>(() =>
            RecordSources.OpenAsync(new RecordSourceConfig { Kind = "postgres", ConnectionString = cs, Query = "DELETE FROM customers RETURNING id" }, _directory));

        Assert.Equal(["id", "name", "score", "ratio", "active", "joined", "seen", "born", "photo", "note"], table.Columns);
        Assert.Equal<string?[]>(
            [
                ["1", "Zoë", "12.50", "0.1", "true", "2024-03-01T12:34:56.7890000", "2024-03-01T12:00:00.0000000Z", "1990-05-17", "AQL/", null],
                ["2", "Ann", null, "-1.5E-07", "false", null, null, null, null, "vip"],
            ],
            table.Rows.OrderBy(r => r[0], StringComparer.Ordinal));
        Assert.Equal(["shout", "id"], query.Columns);
        Assert.Equal<string?[]>([["<Zoë>", "1"], ["<Ann>", "2"]], query.Rows);
        Assert.Contains("read-only transaction", write.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await ReadAsync(new RecordSourceConfig { Kind = "postgres", ConnectionString = cs, Table = "customers" })).Rows.Count);
    }

    [Fact]
    public async Task Postgres_DisposedBeforeTheLastRow_CancelsTheQueryInsteadOfReadingTheRest()
    {
        await using var pg = await PostgresServer.StartAsync();
        var cs = await pg.CreateDatabaseAsync("psisrc");
        const string Endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n";
        var source = await RecordSources.OpenAsync(new RecordSourceConfig { Kind = "postgres", ConnectionString = cs, Query = Endless }, _directory);
        var firstRows = new List<string?>();
        await foreach (var row in source.ReadRowsAsync())
        {
            firstRows.Add(row[0]);
            if (firstRows.Count == 3) break;
        }

        // Disposing a data reader reads its remaining rows; on an endless query only cancelling returns.
        await source.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(["1", "2", "3"], firstRows);
    }

    private sealed record RecordRows(IReadOnlyList<string> Columns, List<string?[]> Rows);

    private Task WriteAsync(string name, string text) => File.WriteAllTextAsync(Path.Combine(_directory, name), text, new UTF8Encoding(false));

    private async Task<RecordRows> ReadCsvAsync(string text, string delimiter = ",")
    {
        await WriteAsync("in.csv", text);
        return await ReadAsync(new RecordSourceConfig { Path = "in.csv", Delimiter = delimiter });
    }

    private async Task<RecordRows> ReadAsync(RecordSourceConfig config)
    {
        await using var source = await RecordSources.OpenAsync(config, _directory);
        return new RecordRows(source.Columns, await DrainAsync(source));
    }

    private static async Task<List<string?[]>> DrainAsync(IRecordSource source)
    {
        var rows = new List<string?[]>();
        await foreach (var row in source.ReadRowsAsync()) rows.Add(row);
        return rows;
    }
}
