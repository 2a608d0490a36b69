using System.Text;
using Smpc.Client.Agent;

namespace Smpc.Gateway.Tests;

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
}
