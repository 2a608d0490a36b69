using Smpc.Contracts;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Keys;
using Smpc.Grains.Interfaces.Sessions;
using Smpc.Protocols;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.PrivateSetIntersection;
using Smpc.Protocols.PrivateSetIntersection.Kkrt;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Grains.Sessions;

/// <summary>
/// The rules a session's creation is checked against, for every kind: every session grain checks a create command in full
/// (also one of another kind than its own, which it then refuses as a conflict with the session it holds).
/// </summary>
internal static class CreateRules
{
    /// <summary>The largest set either side of a PSI session may bring (50M elements: 1.6 GB of encoded set).</summary>
    public const long MaxPsiSetElements = 50_000_000;

    /// <summary>Largest request JSON a federated session stores.</summary>
    public const int MaxFederatedRequestBytes = 64 * 1024;

    private const string WeightedMeanHowTo =
        "Ask for a weighted mean with the bounds of x in 'fields' and of each pod's weight separately: " +
        "\"operation\": \"weighted-mean\", \"fields\": [{\"name\": \"theta\", \"length\": 2, \"min\": -1, \"max\": 1, \"precision\": 1000000}], " +
        "\"weight\": {\"min\": 1, \"max\": 100000, \"precision\": 1} (CLI: --operation weighted-mean --weight 1:100000). " +
        "Each pod supplies plain x and its weight (agent config inputs.<name>.weight: a number or \"rows\"); its agent sends w·x and w, so do not pre-multiply or add a weight field.";

    /// <summary>Checks the whole command (ids, pods, the kind's spec, the parent) and returns its pods.</summary>
    public static List<string> Validate(CreateSession command, EntityKey key)
    {
        var pods = ValidatePods(command);
        if (command.Kind == SessionKind.PrivateSetIntersection) _ = PsiSpec(command.Psi); // refuse a bad spec before any lookup
        if (command.Kind == SessionKind.SecureAggregation) _ = AggregationThreshold(command.Aggregation, pods.Count); // and before a round joins its parent
        if (IsFederated(command.Kind)) _ = FederatedLifetime(command);
        if (command.Parent is not null && (command.Kind != SessionKind.SecureAggregation || !EntityKey.IsValidId(command.Parent) || command.Parent == key.Id))
            throw SmpcException.Invalid("Only a secure-aggregation session can be a round of a federated session, named by its id.");
        return pods;
    }

    public static bool IsFederated(SessionKind kind) => kind is SessionKind.FederatedQuery or SessionKind.FederatedTraining;

    private static List<string> ValidatePods(CreateSession command)
    {
        if (!EntityKey.IsValidId(command.ModellerId)) throw SmpcException.Invalid("modellerId is not a valid id.");
        if (!Enum.IsDefined(command.Kind)) throw SmpcException.Invalid("kind is not a known session kind.");
        var pods = command.PodIds ?? [];
        if (pods.Any(p => !EntityKey.IsValidId(p))) throw SmpcException.Invalid("podIds contains an invalid id.");
        if (pods.Distinct(StringComparer.Ordinal).Count() != pods.Count) throw SmpcException.Invalid("podIds contains duplicates.");
        var (min, max) = command.Kind switch
        {
            SessionKind.PrivateSetIntersection => (1, 1),
            SessionKind.SecureAggregation => (3, SessionLimits.MaxSecureAggregationPods),
            _ => (3, SessionLimits.MaxFederatedPods),
        };
        if (pods.Count < min || pods.Count > max)
            throw SmpcException.Invalid(min == max
                ? $"A {command.Kind} session takes exactly {min} pod."
                : $"A {command.Kind} session takes {min} to {max} pods.");
        return [.. pods];
    }

    /// <summary>Validates a secure-aggregation spec for <paramref name="podCount"/> pods and returns its threshold.</summary>
    public static int AggregationThreshold(AggregationSpec? spec, int podCount)
    {
        if (spec is null) throw SmpcException.Invalid("A secure-aggregation session needs an aggregation spec (fields, operation, modeller key).");
        foreach (var timeout in (spec.PhaseTimeouts?.Values ?? []).Append(spec.PhaseTimeout))
            if (timeout < TimeSpan.FromSeconds(1) || timeout > TimeSpan.FromDays(7))
                throw SmpcException.Invalid("Phase timeouts must be between 1 second and 7 days.");
        if (spec.PhaseTimeouts?.Keys.Any(p => p is not (SessionPhase.KeyExchange or SessionPhase.ShareExchange or SessionPhase.MaskedInput or SessionPhase.Unmasking)) == true)
            throw SmpcException.Invalid("phaseTimeouts name key-exchange, share-exchange, masked-input or unmasking.");
        foreach (var field in spec.Fields.Where(f => f.Shape is not null))
            if (field.Shape!.Count == 0 || field.Shape.Any(d => d < 1) || field.Shape.Aggregate(1L, (a, d) => a * d) != field.Length)
                throw SmpcException.Invalid($"Field '{field.Name}': shape [{string.Join(", ", field.Shape)}] must have positive dimensions whose product is its length {field.Length}.");
        if (!EntityKey.IsValidId(spec.Input)) throw SmpcException.Invalid("input must name the pods' input (an id).");
        if (!Enum.IsDefined(spec.Operation)) throw SmpcException.Invalid("operation must be sum, mean or weighted-mean.");
        if (spec.WeightField is not null) throw SmpcException.Invalid($"weightField is no longer accepted (pods pre-multiplied w·x by hand). {WeightedMeanHowTo}");
        if (spec.Operation == AggregationOperation.WeightedMean && spec.Weight is null) throw SmpcException.Invalid($"weighted-mean needs 'weight'. {WeightedMeanHowTo}");
        if (spec.Operation != AggregationOperation.WeightedMean && spec.Weight is not null) throw SmpcException.Invalid("'weight' applies only to operation weighted-mean.");
        return AggregationParameters(spec, podCount, "validation").Threshold;
    }

    /// <summary>Protocol parameters; a bad spec surfaces as a validation error that names the field or bound.</summary>
    public static SessionParameters AggregationParameters(AggregationSpec spec, int podCount, string sessionId)
    {
        try
        {
            var fields = spec.Fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision, f.Min, f.Max));
            var layout = spec.Weight is { } w
                ? new WeightedMeanLayout(fields, new WeightSpec(w.Min, w.Max, w.Precision), podCount).WireLayout
                : new VectorLayout(fields);
            var parameters = SessionParameters.Create(sessionId, podCount, layout, spec.ModellerPublicKey, spec.Threshold);
            _ = parameters.Codec; // the codec proves that n bounded inputs cannot wrap the field
            return parameters;
        }
        catch (Exception ex) when (ex is ProtocolException or ArgumentException)
        {
            throw SmpcException.Invalid(ex.Message);
        }
    }

    public static bool SameAggregationSpec(AggregationSpec? a, AggregationSpec? b) =>
        a is null ? b is null : b is not null && a.Fields.SequenceEqual(b.Fields) && a.Operation == b.Operation && a.Threshold == b.Threshold
            && a.ModellerPublicKey.AsSpan().SequenceEqual(b.ModellerPublicKey) && a.PhaseTimeout == b.PhaseTimeout && a.Input == b.Input && a.WeightField == b.WeightField && a.Weight == b.Weight
            && (a.PhaseTimeouts ?? new Dictionary<SessionPhase, TimeSpan>()).OrderBy(p => p.Key).SequenceEqual((b.PhaseTimeouts ?? new Dictionary<SessionPhase, TimeSpan>()).OrderBy(p => p.Key));

    /// <summary>Validates a PSI spec and fills its defaults.</summary>
    public static PsiSpec PsiSpec(PsiSpec? spec)
    {
        if (spec is null) throw SmpcException.Invalid("A PSI session needs 'psi' (protocol, mode, columns on both sides, the pod's source, the modeller's set size).");
        if (spec.Protocol is not (PsiProtocols.Ecdh or PsiProtocols.RsaBlind or PsiProtocols.Kkrt)) throw SmpcException.Invalid("psi.protocol must be 'ecdh', 'rsa-blind' or 'kkrt'.");
        if (spec.Mode is not (PsiModes.Intersection or PsiModes.Cardinality)) throw SmpcException.Invalid("psi.mode must be 'intersection' or 'cardinality'.");
        if (!EntityKey.IsValidId(spec.Source)) throw SmpcException.Invalid("psi.source must name one of the pod's data sources (an id).");
        if (spec.ModellerSetSize < 0 || spec.ModellerSetSize > MaxPsiSetElements)
            throw SmpcException.Invalid($"psi.modellerSetSize must be between 0 and {MaxPsiSetElements}.");
        if (spec.Timeout < TimeSpan.FromSeconds(5) || spec.Timeout > TimeSpan.FromDays(7)) throw SmpcException.Invalid("psi.timeoutSeconds must be between 5 seconds and 7 days.");
        var keyBits = spec.Protocol == PsiProtocols.RsaBlind ? (spec.KeyBits == 0 ? RsaPsiPublicKey.DefaultBits : spec.KeyBits) : 0;
        if (spec.Protocol == PsiProtocols.RsaBlind && keyBits is not (2048 or 3072 or 4096)) throw SmpcException.Invalid("psi.keyBits must be 2048, 3072 or 4096.");
        if (spec.Protocol != PsiProtocols.RsaBlind && spec.KeyBits != 0) throw SmpcException.Invalid("psi.keyBits applies to rsa-blind only.");
        if (spec.Protocol == PsiProtocols.Ecdh && spec.Version != EcdhPsiVersion.Current)
            throw SmpcException.UnsupportedVersion($"psi.version must be '{EcdhPsiVersion.Current}' for ecdh; a client that sends {(spec.Version is null ? "none hashes records the way ecdh PSI did before it" : $"'{spec.Version}' speaks another version")}: upgrade it.");
        if (spec.Protocol == PsiProtocols.Kkrt && spec.Version != KkrtPsiVersion.Current)
            throw SmpcException.UnsupportedVersion($"psi.version must be '{KkrtPsiVersion.Current}' for kkrt; {(spec.Version is null ? "none was sent" : $"'{spec.Version}' is another version")}: upgrade the client.");
        if (spec.Protocol == PsiProtocols.Ecdh && spec.Mode == PsiModes.Cardinality && spec.CountKey is not { Length: 32 })
            throw SmpcException.Invalid("psi.countKey (base64 of a 32-byte X25519 public key) is required for ecdh cardinality: the pod seals the count to it.");
        if (spec.CountKey is not null && !(spec.Protocol == PsiProtocols.Ecdh && spec.Mode == PsiModes.Cardinality))
            throw SmpcException.Invalid("psi.countKey applies to ecdh cardinality only.");
        var mine = spec.ModellerColumns ?? [];
        var theirs = spec.PodColumns ?? [];
        if (mine.Count is 0 or > 16) throw SmpcException.Invalid("psi.modellerColumns must name 1 to 16 columns.");
        if (theirs.Count != mine.Count) throw SmpcException.Invalid("psi.podColumns must name as many columns as psi.modellerColumns.");
        foreach (var (column, i) in mine.Select((c, i) => (c, i)).Concat(theirs.Select((c, i) => (c, i))))
        {
            if (string.IsNullOrWhiteSpace(column.Name) || column.Name.Length > 128) throw SmpcException.Invalid($"Column {i + 1}: a name of 1 to 128 characters is needed.");
            if (!ColumnKindNames.All.ContainsKey(column.Kind ?? "")) throw SmpcException.Invalid($"Column '{column.Name}': kind must be one of {string.Join(", ", ColumnKindNames.All.Keys)}.");
            if (column.CountryCode is { } cc && (column.Kind != "phone" || RecordEncoder.PhoneRegion(cc) is null))
                throw SmpcException.Invalid($"Column '{column.Name}': countryCode is a country calling code (e.g. 44) or region (e.g. GB) and applies to phone columns only.");
        }

        for (var i = 0; i < mine.Count; i++)
            if (mine[i].Kind != theirs[i].Kind)
                throw SmpcException.Invalid($"Column {i + 1}: '{mine[i].Name}' is {mine[i].Kind} but the pod's '{theirs[i].Name}' is {theirs[i].Kind}; matched columns need the same kind.");
        return spec with { KeyBits = keyBits, ModellerColumns = [.. mine], PodColumns = [.. theirs] };
    }

    public static bool SamePsiSpec(PsiSpec? a, PsiSpec? b) =>
        a is null ? b is null : b is not null && a.Protocol == b.Protocol && a.Mode == b.Mode && a.Source == b.Source && a.ModellerSetSize == b.ModellerSetSize
            && (a.KeyBits == b.KeyBits || (b.KeyBits == 0 && a.KeyBits == RsaPsiPublicKey.DefaultBits)) && a.Timeout == b.Timeout
            && a.ModellerColumns.SequenceEqual(b.ModellerColumns) && a.PodColumns.SequenceEqual(b.PodColumns)
            && a.Version == b.Version && (a.CountKey ?? []).AsSpan().SequenceEqual(b.CountKey ?? []);

    // ---- Federated query and training. The rules live in Protocols/Federated (QueryRequests, TrainingRequests,
    // FederatedLifetime); this applies them to the command's typed spec, with the REST body's names in its messages. ----

    private static readonly System.Text.Json.JsonSerializerOptions FederatedJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary>Checks a federated command's spec (the one of its kind) and returns how long the session may live.</summary>
    public static TimeSpan FederatedLifetime(CreateSession command) =>
        command.Kind == SessionKind.FederatedQuery ? QueryLifetime(command.Query) : TrainingLifetime(command.Training);

    private static TimeSpan QueryLifetime(FederatedQuerySpec? spec)
    {
        if (spec is null) throw SmpcException.Invalid("A query session needs 'query' (sql, source, groupBy, aggregates).");
        if (!EntityKey.IsValidId(spec.Source)) throw SmpcException.Invalid("query.source must name one of the pods' data sources (an id).");
        var query = FederatedRequests.ToRequest(spec);
        if ((Protocols.Federated.Query.QueryRequests.SessionProblem(query) ?? Protocols.Federated.FederatedLifetime.Problem(query)) is { } problem) throw SmpcException.Invalid(problem);
        RequireFederatedSize(query);
        return Protocols.Federated.FederatedLifetime.Of(query);
    }

    private static TimeSpan TrainingLifetime(FederatedTrainingSpec? spec)
    {
        if (spec is null) throw SmpcException.Invalid("A training session needs 'training' (trainer, source, features, label).");
        if (!EntityKey.IsValidId(spec.Source)) throw SmpcException.Invalid("training.source must name one of the pods' data sources (an id).");
        var training = FederatedRequests.ToRequest(spec);
        if ((Protocols.Federated.Training.TrainingRequests.SessionProblem(training) ?? Protocols.Federated.FederatedLifetime.Problem(training)) is { } problem) throw SmpcException.Invalid(problem);
        RequireFederatedSize(training);
        return Protocols.Federated.FederatedLifetime.Of(training);
    }

    private static void RequireFederatedSize<T>(T request)
    {
        if (System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, FederatedJson).Length > MaxFederatedRequestBytes)
            throw SmpcException.Invalid($"The request may be at most {MaxFederatedRequestBytes} bytes of JSON.");
    }
}
