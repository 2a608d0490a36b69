using Smpc.Contracts;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.ApiGateway.Mapping;

/// <summary>Between the REST PSI shapes (spec, status) and the grains'.</summary>
internal static class PsiMapping
{
    public static PsiSpec ToSpec(PsiRequest? request)
    {
        if (request is null) throw SmpcException.Invalid("A PSI session needs 'psi' (mode, modellerColumns, podColumns, source, modellerSetSize).");
        return new PsiSpec(request.Protocol ?? PsiProtocols.Ecdh, request.Mode ?? "", Columns(request.ModellerColumns), Columns(request.PodColumns), request.Source ?? "",
            request.ModellerSetSize, request.KeyBits ?? 0, TimeSpan.FromSeconds(request.TimeoutSeconds), request.Version, Base64(request.CountKey, "psi.countKey"));
    }

    public static PsiStatusResponse ToResponse(PsiStatus p) => new(
        p.Spec.Protocol, p.Spec.Mode, [.. p.Spec.ModellerColumns.Select(Column)], [.. p.Spec.PodColumns.Select(Column)], p.Spec.Source, p.Spec.ModellerSetSize,
        p.Spec.KeyBits == 0 ? null : p.Spec.KeyBits, (int)p.Spec.Timeout.TotalSeconds, p.Deadline, p.PublicKey is null ? null : Convert.ToBase64String(p.PublicKey),
        p.Accepted, p.CountedByPod, p.ServerSetSize, p.QueryStored, p.ReplyStored, p.DoubleBlindedStored, p.PodCount, p.ReportedCount, p.FailureReason,
        p.KeyProof is null ? null : Convert.ToBase64String(p.KeyProof),
        p.Spec.Version, p.Spec.CountKey is null ? null : Convert.ToBase64String(p.Spec.CountKey), p.SealedCount is null ? null : Convert.ToBase64String(p.SealedCount),
        p.PodSetStored);

    /// <summary>A base64 field, or a 400 naming it.</summary>
    public static byte[]? Base64(string? value, string field)
    {
        if (value is null) return null;
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException)
        {
            throw SmpcException.Invalid($"{field} must be base64.");
        }
    }


    private static List<PsiColumn> Columns(IReadOnlyList<PsiColumnRequest>? columns) =>
        [.. (columns ?? []).Select(c => new PsiColumn(c?.Name ?? "", c?.Kind ?? "", c?.CountryCode))];

    private static PsiColumnRequest Column(PsiColumn c) => new(c.Name, c.Kind, c.CountryCode);
}
