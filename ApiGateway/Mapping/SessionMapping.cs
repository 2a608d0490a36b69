using Smpc.ApiGateway.Apis;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Mapping;

/// <summary>Between the REST session resource and the grains' session messages, for every kind.</summary>
internal static class SessionMapping
{
    /// <summary>The create command for a request (its kind's spec mapped and checked as far as the REST shape goes).</summary>
    public static CreateSession ToCommand(CreateSessionRequest request)
    {
        var kind = request.Kind switch
        {
            SessionKinds.SecureAggregation => SessionKind.SecureAggregation,
            SessionKinds.Psi => SessionKind.PrivateSetIntersection,
            SessionKinds.Query => SessionKind.FederatedQuery,
            SessionKinds.Training => SessionKind.FederatedTraining,
            _ => throw SmpcException.Invalid($"kind must be '{SessionKinds.SecureAggregation}', '{SessionKinds.Psi}', '{SessionKinds.Query}' or '{SessionKinds.Training}'."),
        };
        var aggregation = kind == SessionKind.SecureAggregation ? AggregationMapping.ToSpec(request.Aggregation) : null;
        var psi = kind == SessionKind.PrivateSetIntersection ? PsiMapping.ToSpec(request.Psi) : null;
        var query = kind == SessionKind.FederatedQuery ? FederatedMapping.ToSpec(request.Query) : null;
        var training = kind == SessionKind.FederatedTraining ? FederatedMapping.ToSpec(request.Training) : null;
        var parent = request.Parent is null ? null : RouteIds.BodyId(request.Parent, "parent");
        return new CreateSession(RouteIds.BodyId(request.ModellerId, "modellerId"), kind, request.PodIds ?? [], aggregation, psi, parent, query, training,
            Signature(request.ModellerSignature, "modellerSignature"));
    }

    public static SessionResponse ToResponse(SessionInfo s) => new(
        s.Tenant, s.Id, s.ModellerId,
        s.Kind switch
        {
            SessionKind.SecureAggregation => SessionKinds.SecureAggregation,
            SessionKind.PrivateSetIntersection => SessionKinds.Psi,
            SessionKind.FederatedQuery => SessionKinds.Query,
            _ => SessionKinds.Training,
        },
        s.PodIds, PhaseName(s.Phase), s.CreatedAt, s.Version, s.Aggregation is { } a ? AggregationMapping.ToResponse(a, s.PodIds) : null, s.TraceParent, s.Psi is { } p ? PsiMapping.ToResponse(p) : null,
        s.Federated is { } f ? FederatedMapping.ToResponse(f) : null, s.Parent,
        s.Cancellation is { } c ? new CancellationResponse(c.Role, c.By, c.Reason, c.At, c.Signature is { } cs ? Convert.ToBase64String(cs) : null, c.SignedReason) : null,
        s.ModellerSignature is { } signature ? Convert.ToBase64String(signature) : null);

    /// <summary>An optional Ed25519 signature: base64 of 64 bytes. Only its shape is checked here; pods verify what it signs.</summary>
    public static byte[]? Signature(string? base64, string name)
    {
        if (base64 is null) return null;
        try
        {
            var bytes = Convert.FromBase64String(base64);
            if (bytes.Length == 64) return bytes;
        }
        catch (FormatException)
        {
        }

        throw SmpcException.Invalid($"{name} must be base64 of a 64-byte Ed25519 signature.");
    }

    public static string PhaseName(SessionPhase phase) => phase switch
    {
        SessionPhase.Created => SessionPhases.Created,
        SessionPhase.KeyExchange => SessionPhases.KeyExchange,
        SessionPhase.ShareExchange => SessionPhases.ShareExchange,
        SessionPhase.MaskedInput => SessionPhases.MaskedInput,
        SessionPhase.Unmasking => SessionPhases.Unmasking,
        SessionPhase.Completed => SessionPhases.Completed,
        SessionPhase.AwaitingPod => SessionPhases.AwaitingPod,
        SessionPhase.Exchange => SessionPhases.Exchange,
        SessionPhase.Answered => SessionPhases.Answered,
        SessionPhase.Running => SessionPhases.Running,
        SessionPhase.Cancelled => SessionPhases.Cancelled,
        _ => SessionPhases.Failed,
    };
}
