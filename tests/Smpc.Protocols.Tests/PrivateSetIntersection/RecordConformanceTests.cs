using System.Reflection;
using System.Text.Json;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>
/// The encoder against docs/protocols/vectors/psi-records.json, which an independent Python implementation of
/// docs/protocols/psi.md generates: every record encoder, here or in a future client, must pass every case.
/// </summary>
public sealed class RecordConformanceTests
{
    private static readonly Lazy<Vectors> File = new(Load);

    [Fact]
    public void Vectors_AreTheCurrentVersionAndLargeEnough()
    {
        var vectors = File.Value;
        Assert.Equal(RecordEncoder.Version, vectors.RecordPrefix);
        Assert.Equal("15.0.0", vectors.UnicodeVersion);
        Assert.True(vectors.Cases.Count >= 300, $"{vectors.Cases.Count} cases");
        Assert.All(ColumnKindNames.All.Keys, kind => Assert.Contains(vectors.Cases, c => c.Columns.Any(col => col.Kind == kind)));
        Assert.Contains(vectors.Cases, c => c.Values.Any(v => v is null));
        Assert.Contains(vectors.Cases, c => c.Columns.Count > 1);
    }

    [Fact]
    public void Encoder_PassesEveryConformanceCase()
    {
        var failures = new List<string>();
        foreach (var (c, i) in File.Value.Cases.Select((c, i) => (c, i)))
        {
            var encoder = new RecordEncoder([.. c.Columns.Select(col => new ColumnSpec(col.Name, ColumnKindNames.All[col.Kind], col.CountryCode))]);
            string actual;
            try
            {
                actual = Convert.ToHexStringLower(encoder.Encode(c.Values));
            }
            catch (InputRejectedException ex)
            {
                actual = "refused: " + ex.Reason;
            }

            if (actual != c.Expected)
            {
                failures.Add($"case {i} ({c.Group}{(c.Note is null ? "" : ", " + c.Note)}) {JsonSerializer.Serialize(c.Values)}: expected {c.Expected}, got {actual}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {File.Value.Cases.Count} cases fail:\n" + string.Join('\n', failures));
    }

    [Fact]
    public void PhoneCases_SpanTwelveCountriesAndEveryRefusalHasAKnownReason()
    {
        var phones = File.Value.Cases.Where(c => c.Group == "phone").ToList();
        var reasons = typeof(RecordRefusal).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!).ToHashSet();
        var countries = phones.Where(c => !c.Expected.StartsWith("refused", StringComparison.Ordinal)).Select(c => c.Canonical![0]!).Select(CallingCode).ToHashSet();
        var refused = phones.Where(c => c.Expected.StartsWith("refused: ", StringComparison.Ordinal)).ToList();

        Assert.True(phones.Count >= 150, $"{phones.Count} phone spellings");
        Assert.True(countries.Count >= 12, $"{countries.Count} calling codes: {string.Join(' ', countries)}");
        Assert.NotEmpty(refused);
        Assert.All(refused, c => Assert.Contains(c.Expected["refused: ".Length..], reasons));
    }

    /// <summary>The calling code of an E.164 number, read with the ITU's prefix-free code list's shape (1, 7 or 2–3 digits).</summary>
    private static string CallingCode(string e164) =>
        PhoneNumbers.PhoneNumberUtil.GetInstance().Parse(e164, "ZZ").CountryCode.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static Vectors Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "PrivateSetIntersection", "psi-records.json");
        return JsonSerializer.Deserialize<Vectors>(System.IO.File.ReadAllText(path), new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    private sealed record Vectors(string RecordPrefix, string UnicodeVersion, List<Case> Cases);

    private sealed record Case(string Group, List<Column> Columns, List<string?> Values, string Expected, List<string?>? Canonical, string? Note);

    private sealed record Column(string Name, string Kind, string? CountryCode);
}
