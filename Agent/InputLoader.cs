using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Smpc.Agent;

/// <summary>Reads a pod's named input into a flat vector: a number, inline values, JSON (nested arrays flatten row-major), CSV, or NumPy .npy.</summary>
public static class InputLoader
{
    public static double[] Load(PodInput input, string baseDirectory)
    {
        if (input.Value is { } single) return [single];
        if (input.Values is { } values) return values;
        if (string.IsNullOrWhiteSpace(input.File)) throw new InvalidDataException("An input needs value, values or file.");
        var path = Path.IsPathRooted(input.File) ? input.File : Path.Combine(baseDirectory, input.File);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".json" => Json(File.ReadAllText(path)),
            ".csv" => Csv(File.ReadAllLines(path)),
            ".npy" => Npy(File.ReadAllBytes(path)),
            var other => throw new InvalidDataException($"Unsupported input file type '{other}' (use .json, .csv or .npy)."),
        };
    }

    /// <summary>
    /// The pod's weight for a weighted mean: <see cref="PodInput.Weight"/>, or the row count of <see cref="PodInput.WeightRowsOf"/>
    /// (CSV data rows after an optional header, .npy first dimension, JSON top-level array length).
    /// </summary>
    public static double Weight(PodInput input, string baseDirectory)
    {
        if (input.Weight is not null && input.WeightRowsOf is not null) throw new InvalidDataException("set weight or weightRowsOf, not both");
        if (input.Weight is { } weight) return weight;
        if (string.IsNullOrWhiteSpace(input.WeightRowsOf))
            throw new InvalidDataException("a weighted mean needs this pod's weight: set weight (a number) or weightRowsOf (a file whose rows are the samples); x stays plain, the agent forms w·x");
        var path = Path.IsPathRooted(input.WeightRowsOf) ? input.WeightRowsOf : Path.Combine(baseDirectory, input.WeightRowsOf);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => CsvRows(File.ReadLines(path)),
            ".npy" => NpyRows(File.ReadAllBytes(path)),
            ".json" => JsonDocument.Parse(File.ReadAllText(path)).RootElement is { ValueKind: JsonValueKind.Array } root
                ? root.GetArrayLength()
                : throw new InvalidDataException("weightRowsOf: a JSON file must hold a top-level array of rows"),
            var other => throw new InvalidDataException($"weightRowsOf: unsupported file type '{other}' (use .csv, .npy or .json)"),
        };
    }

    /// <summary>Data rows of a CSV: non-blank lines, less a first line that is not all numbers (a header).</summary>
    public static int CsvRows(IEnumerable<string> lines)
    {
        var rows = lines.Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
        var header = rows.Count > 0 && rows[0].Split(',').Any(c => !double.TryParse(c.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return rows.Count - (header ? 1 : 0);
    }

    private static int NpyRows(byte[] bytes)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY") throw new InvalidDataException("Not a .npy file.");
        var (headerLength, start) = bytes[6] == 1 ? (BitConverter.ToUInt16(bytes, 8), 10) : ((int)BitConverter.ToUInt32(bytes, 8), 12);
        var shape = Between(Encoding.ASCII.GetString(bytes, start, headerLength), "'shape': (", ")");
        var first = shape.Split(',')[0].Trim();
        return first.Length == 0 ? 1 : int.Parse(first, CultureInfo.InvariantCulture); // a 0-d array is one row
    }

    public static double[] Json(string text)
    {
        var values = new List<double>();
        Flatten(JsonDocument.Parse(text).RootElement, values);
        return [.. values];

        static void Flatten(JsonElement e, List<double> into)
        {
            if (e.ValueKind == JsonValueKind.Number) into.Add(e.GetDouble());
            else if (e.ValueKind == JsonValueKind.Array) foreach (var item in e.EnumerateArray()) Flatten(item, into);
            else throw new InvalidDataException($"JSON inputs hold numbers or arrays of numbers, not {e.ValueKind}.");
        }
    }

    /// <summary>Every numeric cell, row by row; a first row that is not numeric is taken as a header.</summary>
    public static double[] Csv(IEnumerable<string> lines)
    {
        var values = new List<double>();
        var first = true;
        foreach (var line in lines.Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            var cells = line.Split(',').Select(c => c.Trim()).ToArray();
            var parsed = cells.Select(c => double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : (double?)null).ToArray();
            if (first && parsed.Any(p => p is null)) { first = false; continue; }
            first = false;
            if (parsed.Any(p => p is null)) throw new InvalidDataException($"Non-numeric CSV cell in line '{line}'.");
            values.AddRange(parsed.Select(p => p!.Value));
        }

        return [.. values];
    }

    /// <summary>NumPy .npy (format 1.x/2.x), C order, little-endian f8/f4/i8/i4.</summary>
    public static double[] Npy(byte[] bytes)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY") throw new InvalidDataException("Not a .npy file.");
        var major = bytes[6];
        var (headerLength, start) = major == 1 ? (BitConverter.ToUInt16(bytes, 8), 10) : ((int)BitConverter.ToUInt32(bytes, 8), 12);
        var header = Encoding.ASCII.GetString(bytes, start, headerLength);
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal)) throw new InvalidDataException("Fortran-ordered .npy arrays are not supported.");
        var descr = Between(header, "'descr': '", "'");
        var data = bytes.AsSpan(start + headerLength);
        return descr switch
        {
            "<f8" => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(data)],
            "<f4" => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data).ToArray().Select(v => (double)v)],
            "<i8" => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(data).ToArray().Select(v => (double)v)],
            "<i4" => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(data).ToArray().Select(v => (double)v)],
            _ => throw new InvalidDataException($"Unsupported .npy dtype '{descr}' (use <f8, <f4, <i8 or <i4)."),
        };
    }

    /// <summary>Writes float64 values as .npy (format 1.0, C order) with the given shape (default: a flat vector), for numpy.load.</summary>
    public static byte[] ToNpy(double[] values, IReadOnlyList<int>? shape = null)
    {
        var dims = shape is { Count: > 0 } ? string.Join(", ", shape) + (shape.Count == 1 ? "," : "") : $"{values.Length},";
        var dict = $"{{'descr': '<f8', 'fortran_order': False, 'shape': ({dims}), }}";
        var total = 10 + dict.Length + 1;
        var padded = dict + new string(' ', (64 - (total % 64)) % 64) + "\n";
        using var stream = new MemoryStream();
        stream.Write([0x93, .. "NUMPY"u8, 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)padded.Length));
        stream.Write(Encoding.ASCII.GetBytes(padded));
        stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return stream.ToArray();
    }

    private static string Between(string text, string before, string after)
    {
        var i = text.IndexOf(before, StringComparison.Ordinal);
        if (i < 0) throw new InvalidDataException("Malformed .npy header.");
        i += before.Length;
        return text[i..text.IndexOf(after, i, StringComparison.Ordinal)];
    }
}
