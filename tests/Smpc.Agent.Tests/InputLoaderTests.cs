using System.Text;

namespace Smpc.Agent.Tests;

public sealed class InputLoaderTests
{
    [Fact]
    public void Npy_RoundTrips_AndKeepsTheShapeInItsHeader()
    {
        double[] values = [1, -2.5, 3.25, 4, 5, 6e-9];

        var bytes = InputLoader.ToNpy(values, [2, 3]);

        var headerLength = BitConverter.ToUInt16(bytes, 8);
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'shape': (2, 3)", header, StringComparison.Ordinal);
        Assert.Equal(0, (10 + headerLength) % 64); // numpy aligns the data
        Assert.Equal(values, InputLoader.Npy(bytes));
        var flat = InputLoader.ToNpy(values);
        Assert.Contains("'shape': (6,)", Encoding.ASCII.GetString(flat, 10, BitConverter.ToUInt16(flat, 8)), StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_SkipsAHeader_AndRefusesNonNumericCells()
    {
        Assert.Equal([1.5, 2, 3, 4], InputLoader.Csv(["a,b", "1.5,2", "3,4"]));
        Assert.Throws<InvalidDataException>(() => InputLoader.Csv(["1,2", "3,x"]));
    }

    [Fact]
    public void Json_FlattensNestedArraysRowMajor() =>
        Assert.Equal([1, 2, 3, 4], InputLoader.Json("[[1, 2], [3, 4]]"));

    [Fact]
    public void Weight_IsTheConfiguredNumber_OrTheRowCountOfItsFile()
    {
        var folder = Directory.CreateTempSubdirectory("smpc-weight-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "rows.npy"), InputLoader.ToNpy(new double[12], [4, 3]));
            File.WriteAllText(Path.Combine(folder, "rows.json"), "[[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]");
            File.WriteAllLines(Path.Combine(folder, "rows.csv"), ["1,2", "3,4", "", "5,6"]); // no header: every non-blank line is a row

            Assert.Equal(12.5, InputLoader.Weight(new PodInput { Weight = 12.5 }, folder));
            Assert.Equal(4, InputLoader.Weight(new PodInput { WeightRowsOf = "rows.npy" }, folder));
            Assert.Equal(5, InputLoader.Weight(new PodInput { WeightRowsOf = "rows.json" }, folder));
            Assert.Equal(3, InputLoader.Weight(new PodInput { WeightRowsOf = "rows.csv" }, folder));
            Assert.Throws<InvalidDataException>(() => InputLoader.Weight(new PodInput { Weight = 1, WeightRowsOf = "rows.csv" }, folder));
            Assert.Contains("x stays plain", Assert.Throws<InvalidDataException>(() => InputLoader.Weight(new PodInput { Values = [1] }, folder)).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
