using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Smpc.Agent;

/// <summary>
/// Checks a pod agent configuration against docs/agent-config.schema.json (embedded) before it is read, so unknown keys and
/// wrong types are refused with their JSON path instead of being ignored or defaulted.
/// </summary>
/// <remarks>
/// A small validator for the subset of JSON Schema (2020-12) the schema uses: <c>type</c>, <c>properties</c>,
/// <c>additionalProperties</c>, <c>required</c>, <c>propertyNames</c>, <c>items</c>, <c>enum</c>, <c>minimum</c>, <c>exclusiveMinimum</c>,
/// <c>minLength</c>, <c>pattern</c>, <c>minProperties</c>, <c>maxProperties</c> and local <c>$ref</c>s. Annotations
/// (<c>description</c>, <c>default</c>, <c>examples</c>) are ignored. A keyword outside this subset makes the schema itself
/// invalid, so the schema cannot silently ask for a check this class does not make.
/// </remarks>
public static class AgentConfigSchema
{
    private static readonly HashSet<string> Understood =
    [
        "$schema", "$id", "$defs", "$ref", "title", "description", "default", "examples", "type", "properties", "additionalProperties",
        "propertyNames", "items", "enum", "minimum", "exclusiveMinimum", "minLength", "pattern", "minProperties", "maxProperties", "required",
        "oneOf", "not",
    ];

    private static readonly Lazy<JsonDocument> Schema = new(Load);

    /// <summary>The schema's text (as committed in docs/agent-config.schema.json).</summary>
    public static string Text
    {
        get
        {
            using var stream = typeof(AgentConfigSchema).Assembly.GetManifestResourceStream("Smpc.Agent.agent-config.schema.json")
                ?? throw new InvalidOperationException("The agent configuration schema is not embedded.");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>Every violation of the schema in <paramref name="json"/>, each as "$.path: problem"; empty when valid.</summary>
    /// <exception cref="JsonException">The text is not JSON.</exception>
    public static IReadOnlyList<string> Validate(string json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var errors = new List<string>();
        Check(document.RootElement, Schema.Value.RootElement, "$", errors);
        return errors;
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming the first violation (and how many more) when <paramref name="json"/> is invalid.</summary>
    public static void Require(string json, string fileName)
    {
        IReadOnlyList<string> errors;
        try
        {
            errors = Validate(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{fileName} is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}); see docs/agent-config.md.", e);
        }

        if (errors.Count > 0)
            throw new InvalidDataException($"{fileName}: {errors[0]}{(errors.Count > 1 ? $" (and {errors.Count - 1} more problem{(errors.Count > 2 ? "s" : "")})" : "")}; see docs/agent-config.md.");
    }

    private static JsonDocument Load()
    {
        var document = JsonDocument.Parse(Text);
        CheckSchema(document.RootElement, "#");
        return document;
    }

    private static void CheckSchema(JsonElement schema, string where)
    {
        if (schema.ValueKind == JsonValueKind.True || schema.ValueKind == JsonValueKind.False) return;
        foreach (var keyword in schema.EnumerateObject())
        {
            if (!Understood.Contains(keyword.Name)) throw new InvalidOperationException($"The agent configuration schema uses '{keyword.Name}' at {where}, which the validator does not check.");
            switch (keyword.Name)
            {
                case "properties" or "$defs":
                    foreach (var p in keyword.Value.EnumerateObject()) CheckSchema(p.Value, $"{where}/{keyword.Name}/{p.Name}");
                    break;
                case "additionalProperties" or "items" or "propertyNames" or "not":
                    CheckSchema(keyword.Value, $"{where}/{keyword.Name}");
                    break;
                case "oneOf":
                    var n = 0;
                    foreach (var alternative in keyword.Value.EnumerateArray()) CheckSchema(alternative, $"{where}/oneOf/{n++}");
                    break;
            }
        }
    }

    private static void Check(JsonElement value, JsonElement schema, string path, List<string> errors)
    {
        if (schema.ValueKind == JsonValueKind.True) return;
        if (schema.ValueKind == JsonValueKind.False)
        {
            errors.Add($"{path}: not allowed here");
            return;
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            Check(value, Resolve(reference.GetString()!), path, errors);
            return;
        }

        if (schema.TryGetProperty("type", out var type) && !HasType(value, type))
        {
            errors.Add($"{path}: expected {Describe(type)}, got {Kind(value)}");
            return;
        }

        if (schema.TryGetProperty("enum", out var allowed) && !allowed.EnumerateArray().Any(a => JsonElement.DeepEquals(a, value)))
            errors.Add($"{path}: {value.GetRawText()} is not one of {string.Join(", ", allowed.EnumerateArray().Select(a => a.GetRawText()))}");

        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                CheckObject(value, schema, path, errors);
                break;
            case JsonValueKind.Array when schema.TryGetProperty("items", out var items):
                var i = 0;
                foreach (var item in value.EnumerateArray()) Check(item, items, $"{path}[{i++}]", errors);
                break;
            case JsonValueKind.Number:
                var number = value.GetDouble();
                if (schema.TryGetProperty("minimum", out var min) && number < min.GetDouble())
                    errors.Add($"{path}: {value.GetRawText()} is below the minimum {min.GetRawText()}");
                if (schema.TryGetProperty("exclusiveMinimum", out var emin) && number <= emin.GetDouble())
                    errors.Add($"{path}: {value.GetRawText()} must be greater than {emin.GetRawText()}");
                break;
            case JsonValueKind.String:
                CheckString(value.GetString()!, schema, path, errors);
                break;
        }
    }

    private static void CheckObject(JsonElement value, JsonElement schema, string path, List<string> errors)
    {
        var properties = schema.TryGetProperty("properties", out var p) ? p : default;
        var additional = schema.TryGetProperty("additionalProperties", out var a) ? a : default;
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!).Where(n => !value.TryGetProperty(n, out _)))
                errors.Add($"{path}: the key '{name}' is missing");
        }

        var count = 0;
        foreach (var property in value.EnumerateObject())
        {
            count++;
            var at = Child(path, property.Name);
            if (schema.TryGetProperty("propertyNames", out var names) && names.TryGetProperty("pattern", out var namePattern)
                && !Regex.IsMatch(property.Name, namePattern.GetString()!, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
            {
                errors.Add($"{at}: the name '{property.Name}' does not match {namePattern.GetString()}{(names.TryGetProperty("description", out var why) ? $" ({why.GetString()})" : "")}");
                continue;
            }

            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var known))
                Check(property.Value, known, at, errors);
            else if (additional.ValueKind == JsonValueKind.False)
                errors.Add($"{at}: unknown key{Suggest(property.Name, properties)}");
            else if (additional.ValueKind == JsonValueKind.Object)
                Check(property.Value, additional, at, errors);
        }

        // oneOf and not, as the schema uses them: alternatives that each require one key, and a pair that must not come together.
        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            var alternatives = oneOf.EnumerateArray().ToList();
            var matching = alternatives.Count(alternative =>
            {
                var found = new List<string>();
                Check(value, alternative, path, found);
                return found.Count == 0;
            });
            if (matching != 1) errors.Add($"{path}: give exactly one of {string.Join(", ", alternatives.SelectMany(RequiredKeys))}");
        }

        if (schema.TryGetProperty("not", out var not))
        {
            var found = new List<string>();
            Check(value, not, path, found);
            if (found.Count == 0) errors.Add($"{path}: give {string.Join(" or ", RequiredKeys(not))}, not {(RequiredKeys(not).Count() == 2 ? "both" : "all of them")}");
        }

        if (schema.TryGetProperty("minProperties", out var minP) && count < minP.GetInt32()
            || schema.TryGetProperty("maxProperties", out var maxP) && count > maxP.GetInt32())
        {
            var keys = properties.ValueKind == JsonValueKind.Object ? string.Join(", ", properties.EnumerateObject().Select(k => k.Name)) : "keys";
            var (lo, hi) = (schema.TryGetProperty("minProperties", out var l) ? l.GetInt32() : 0, schema.TryGetProperty("maxProperties", out var h) ? h.GetInt32() : int.MaxValue);
            errors.Add(lo == hi ? $"{path}: give exactly {(lo == 1 ? "one" : lo.ToString(CultureInfo.InvariantCulture))} of {keys}" : $"{path}: give {lo} to {hi} of {keys}");
        }
    }

    private static IEnumerable<string> RequiredKeys(JsonElement schema) =>
        schema.TryGetProperty("required", out var required) ? required.EnumerateArray().Select(r => r.GetString()!) : [];

    private static void CheckString(string text, JsonElement schema, string path, List<string> errors)
    {
        if (schema.TryGetProperty("minLength", out var min) && text.Length < min.GetInt32())
            errors.Add(min.GetInt32() == 1 ? $"{path}: must not be empty" : $"{path}: shorter than {min.GetInt32()} characters");
        if (schema.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(text, pattern.GetString()!, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
            errors.Add($"{path}: '{text}' does not match {pattern.GetString()}");
    }

    private static JsonElement Resolve(string reference)
    {
        if (!reference.StartsWith("#/$defs/", StringComparison.Ordinal)) throw new InvalidOperationException($"Only local $defs references are supported, not '{reference}'.");
        return Schema.Value.RootElement.GetProperty("$defs").GetProperty(reference["#/$defs/".Length..]);
    }

    private static bool HasType(JsonElement value, JsonElement type) => type.ValueKind == JsonValueKind.Array
        ? type.EnumerateArray().Any(t => IsType(value, t.GetString()!))
        : IsType(value, type.GetString()!);

    private static bool IsType(JsonElement value, string type) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => throw new InvalidOperationException($"Unknown JSON Schema type '{type}'."),
    };

    private static string Describe(JsonElement type) => type.ValueKind == JsonValueKind.Array
        ? string.Join(" or ", type.EnumerateArray().Select(t => Article(t.GetString()!)))
        : Article(type.GetString()!);

    private static string Article(string type) => type switch
    {
        "object" => "an object",
        "array" => "an array",
        "integer" => "an integer",
        "null" => "null",
        _ => "a " + type,
    };

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string {value.GetRawText()}",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => "null",
    };

    private static string Child(string path, string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') && !char.IsAsciiDigit(name[0])
            ? $"{path}.{name}"
            : $"{path}['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";

    private static string Suggest(string name, JsonElement properties)
    {
        if (properties.ValueKind != JsonValueKind.Object) return " (no keys are defined here)";
        var known = properties.EnumerateObject().Select(p => p.Name).ToList();
        var close = known.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
        return close is not null
            ? $" (keys are case-sensitive: did you mean '{close}'?)"
            : $" (allowed: {string.Join(", ", known)})";
    }
}
