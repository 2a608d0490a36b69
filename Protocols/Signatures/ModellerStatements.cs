using System.Security.Cryptography;
using Smpc.Contracts;
using Smpc.Protocols.Encoding;
using Smpc.Protocols.SecureAggregation;

namespace Smpc.Protocols.Signatures;

/// <summary>
/// The byte-exact statements a modeller signs with its Ed25519 identity key and pods verify against its pinned identity
/// (docs/protocols/signatures.md): a session's creation, a cancel, a federated content-key seal and a federated release.
/// A statement is computed from the modeller's own request on its side and from the session as served on the pod's side,
/// so a service that changed anything pods act on (M, t, the layout, the pods or their order, a PSI or federated spec)
/// turns a valid signature into an invalid one.
/// </summary>
public static class ModellerStatements
{
    /// <summary>Domain label of a session statement.</summary>
    public const string SessionLabel = "smpc/modeller-statement/session/v1";

    /// <summary>Domain label of a cancel statement.</summary>
    public const string CancelLabel = "smpc/modeller-statement/cancel/v1";

    /// <summary>Domain label of a content-key seal statement.</summary>
    public const string ContentKeyLabel = "smpc/modeller-statement/content-key/v1";

    /// <summary>Domain label of a release statement.</summary>
    public const string ReleaseLabel = "smpc/modeller-statement/release/v1";

    /// <summary>The session statement of the modeller's own create request in <paramref name="tenant"/>.</summary>
    public static byte[] Session(string tenant, CreateSessionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parameters = request.Kind switch
        {
            SessionKinds.SecureAggregation => Aggregation(
                request.Aggregation ?? throw Invalid("a secure-aggregation session needs its aggregation spec"),
                ProtocolSessionId(tenant, request.Id), request.PodIds.Count),
            SessionKinds.Psi => Psi(request.Psi ?? throw Invalid("a PSI session needs its PSI spec")),
            SessionKinds.Query => Query(request.Query ?? throw Invalid("a query session needs its query spec")),
            SessionKinds.Training => Training(request.Training ?? throw Invalid("a training session needs its training spec")),
            _ => throw Invalid($"unknown session kind '{request.Kind}'"),
        };
        return Session(tenant, request.Id, request.Kind, request.Parent, request.ModellerId, request.PodIds, parameters);
    }

    /// <summary>The session statement recomputed from a session as the service serves it.</summary>
    public static byte[] Session(SessionResponse session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var parameters = session.Kind switch
        {
            SessionKinds.SecureAggregation => Aggregation(session.Aggregation ?? throw Invalid("the session has no aggregation status"), session.PodIds.Count),
            SessionKinds.Psi => Psi(session.Psi ?? throw Invalid("the session has no PSI status")),
            SessionKinds.Query => Query(session.Federated?.Query ?? throw Invalid("the session has no query spec")),
            SessionKinds.Training => Training(session.Federated?.Training ?? throw Invalid("the session has no training spec")),
            _ => throw Invalid($"unknown session kind '{session.Kind}'"),
        };
        return Session(session.Tenant, session.Id, session.Kind, session.Parent, session.ModellerId, session.PodIds, parameters);
    }

    /// <summary>The secure-aggregation protocol session id the service derives, and the modeller signs: "{tenant}/{session}".</summary>
    public static string ProtocolSessionId(string tenant, string sessionId) => $"{tenant}/{sessionId}";

    /// <summary>The protocol parameters of the modeller's own secure-aggregation request (never the service's echo).</summary>
    public static SessionParameters AggregationParameters(string tenant, CreateSessionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var a = request.Aggregation ?? throw Invalid("a secure-aggregation session needs its aggregation spec");
        return Parameters(ProtocolSessionId(tenant, request.Id), request.PodIds.Count, a.Fields, a.Weight, a.ModellerPublicKey, a.Threshold);
    }

    /// <summary>The protocol parameters of a secure-aggregation session as served (what a pod computes with).</summary>
    public static SessionParameters Parameters(
        string protocolSessionId, int podCount, IReadOnlyList<AggregationFieldRequest> fields, AggregationWeightRequest? weight, string modellerPublicKey, int? threshold)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var specs = fields.Select(f => new FieldSpec(f.Name, f.Length, f.Precision ?? FieldSpec.DefaultPrecision, f.Min, f.Max));
        var layout = weight is { } w ? new WeightedMeanLayout(specs, new WeightSpec(w.Min, w.Max, w.Precision ?? 1), podCount).WireLayout : new VectorLayout(specs);
        return SessionParameters.Create(protocolSessionId, podCount, layout, Base64(modellerPublicKey, "the modeller's session key"), threshold);
    }

    /// <summary>The cancel statement: the modeller ends session <paramref name="sessionId"/> of <paramref name="tenant"/>, with its reason.</summary>
    public static byte[] Cancel(string tenant, string sessionId, string? reason) =>
        new StatementWriter().Text(CancelLabel).Text(tenant).Text(sessionId).Optional(reason).ToArray();

    /// <summary>The content-key seal statement: the modeller sealed its federated content key to <paramref name="pod"/>'s member key in <paramref name="box"/>.</summary>
    public static byte[] ContentKeySeal(string tenant, string sessionId, string pod, ReadOnlySpan<byte> memberPublicKey, ReadOnlySpan<byte> box) =>
        new StatementWriter().Text(ContentKeyLabel).Text(tenant).Text(sessionId).Text(pod).Blob(memberPublicKey).Blob(SHA256.HashData(box)).ToArray();

    /// <summary>The release statement: the modeller released <paramref name="box"/> (the sealed release, by its SHA-256) under <paramref name="name"/>.</summary>
    public static byte[] Release(string tenant, string sessionId, string name, ReadOnlySpan<byte> box) =>
        new StatementWriter().Text(ReleaseLabel).Text(tenant).Text(sessionId).Text(name).Blob(SHA256.HashData(box)).ToArray();

    private static byte[] Session(string tenant, string id, string kind, string? parent, string modeller, IReadOnlyList<string> pods, byte[] parameters)
    {
        ArgumentNullException.ThrowIfNull(pods);
        var w = new StatementWriter().Text(SessionLabel).Text(tenant).Text(id).Text(kind).Optional(parent).Text(modeller).Count(pods.Count);
        foreach (var pod in pods) w.Text(pod);
        return w.Blob(parameters).ToArray();
    }

    private static byte[] Aggregation(AggregationRequest a, string protocolSessionId, int podCount) =>
        AggregationBytes(Parameters(protocolSessionId, podCount, a.Fields, a.Weight, a.ModellerPublicKey, a.Threshold), a.Operation, a.Input, a.Weight);

    private static byte[] Aggregation(AggregationStatusResponse a, int podCount) =>
        AggregationBytes(Parameters(a.ProtocolSessionId, podCount, a.Fields, a.Weight, a.ModellerPublicKey, a.Threshold), a.Operation, a.Input, a.Weight);

    // The canonical parameters (secure-aggregation.md: n, t, q, C, layout, M, the protocol session id) and what they
    // leave out: the operation, the pods' input name, and a weighted mean's weight bounds.
    private static byte[] AggregationBytes(SessionParameters parameters, string operation, string input, AggregationWeightRequest? weight)
    {
        var w = new StatementWriter().Blob(parameters.ToCanonicalBytes()).Text(operation).Text(input).Present(weight is not null);
        if (weight is not null) w.Double(weight.Min).Double(weight.Max).Int64(weight.Precision ?? 1);
        return w.ToArray();
    }

    private static byte[] Psi(PsiRequest p) =>
        PsiBytes(p.Protocol, p.Mode, p.ModellerColumns, p.PodColumns, p.Source, p.ModellerSetSize, p.KeyBits, p.TimeoutSeconds, p.Version, p.CountKey);

    private static byte[] Psi(PsiStatusResponse p) =>
        PsiBytes(p.Protocol, p.Mode, p.ModellerColumns, p.PodColumns, p.Source, p.ModellerSetSize, p.KeyBits, p.TimeoutSeconds, p.Version, p.CountKey);

    private static byte[] PsiBytes(
        string protocol, string mode, IReadOnlyList<PsiColumnRequest> mine, IReadOnlyList<PsiColumnRequest> theirs, string source, long setSize, int? keyBits,
        int timeoutSeconds, string? version, string? countKey)
    {
        // The effective key size: rsa-blind defaults to 3072 bits, ecdh has none (0), whether or not the request said so.
        var bits = protocol == PsiProtocolNames.RsaBlind ? (keyBits is null or 0 ? PrivateSetIntersection.RsaPsiPublicKey.DefaultBits : keyBits.Value) : keyBits ?? 0;
        var w = new StatementWriter().Text(protocol).Text(mode);
        Columns(w, mine);
        Columns(w, theirs);
        w.Text(source).Int64(setSize).Int32(bits).Int32(timeoutSeconds).Optional(version);
        // The count key is signed as its bytes: a service that swapped it for its own would read a pod-counted size.
        w.Present(countKey is not null);
        if (countKey is not null) w.Blob(DecodeBase64(countKey, "the PSI count key"));
        return w.ToArray();
    }

    private static void Columns(StatementWriter w, IReadOnlyList<PsiColumnRequest> columns)
    {
        w.Count((columns ?? throw Invalid("PSI columns are missing")).Count);
        foreach (var c in columns) w.Text(c.Name).Text(c.Kind).Optional(c.CountryCode);
    }

    private static byte[] Query(QueryRequest q)
    {
        var w = new StatementWriter().Text(q.Sql).Text(q.Source).Count(q.GroupBy?.Count ?? 0);
        foreach (var g in q.GroupBy ?? [])
        {
            w.Text(g.Column).Present(g.Values is not null);
            if (g.Values is not null)
            {
                w.Count(g.Values.Count);
                foreach (var v in g.Values) w.Text(v);
            }

            w.Present(g.Bins is not null);
            if (g.Bins is { } b) w.Int64(b.From).Int64(b.To).Int64(b.Width);
            w.Present(g.DateBins is not null);
            if (g.DateBins is { } d) w.Text(d.From).Text(d.To).Text(d.Unit);
        }

        w.Count(q.Aggregates?.Count ?? 0);
        foreach (var a in q.Aggregates ?? [])
        {
            w.Text(a.Name).Text(a.Kind).Double(a.Min).Double(a.Max).Present(a.Precision is not null);
            if (a.Precision is { } precision) w.Int64(precision);
            w.Optional(a.CountColumn);
        }

        return w.Int64(q.MinPooledCount).Int64(q.MaxRowsPerCell).Int32(q.RoundTimeoutSeconds).ToArray();
    }

    private static byte[] Training(TrainingRequest t)
    {
        var w = new StatementWriter().Text(t.Trainer).Text(t.Source).Count(t.Features?.Count ?? 0);
        foreach (var f in t.Features ?? []) w.Text(f);
        return w.Text(t.Label).Int32(t.Rounds).Double(t.LearningRate).Int32(t.LocalEpochs).Int32(t.BatchSize).Double(t.Tolerance)
            .Int32(t.RoundTimeoutSeconds).Double(t.ParameterBound).Double(t.FeatureBound).Int64(t.MaxSamplesPerPod).ToArray();
    }

    private static byte[] Base64(string value, string what)
    {
        try
        {
            return Convert.FromBase64String(value ?? "");
        }
        catch (FormatException)
        {
            throw Invalid($"{what} is not base64");
        }
    }

    private static ProtocolException Invalid(string message) => new(ProtocolError.InvalidParameters, message);

    private static byte[] DecodeBase64(string value, string what)
    {
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException)
        {
            throw Invalid($"{what} is not base64");
        }
    }
}
