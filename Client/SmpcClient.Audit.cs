using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Smpc.Contracts;

namespace Smpc.Client;

/// <summary>A tenant's audit log: read page by page (tenant admin; a pod its own entries) or exported as JSON lines.</summary>
public sealed partial class SmpcClient
{
    /// <summary>Tenant admin: a page of the tenant's audit log after sequence <paramref name="after"/>.</summary>
    public Task<AuditPageResponse> ListAuditAsync(string tenantId, AuditFilter? filter = null, long after = 0, int? limit = null, CancellationToken ct = default) =>
        SendAsync<AuditPageResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/audit" + AuditQuery(filter, after, limit), null, ct);

    /// <summary>The pod itself (or its admin): a page of the entries that involve the pod.</summary>
    public Task<AuditPageResponse> ListPodAuditAsync(string tenantId, string podId, AuditFilter? filter = null, long after = 0, int? limit = null, CancellationToken ct = default) =>
        SendAsync<AuditPageResponse>(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/pods/{Escape(podId)}/audit" + AuditQuery(filter, after, limit), null, ct);

    /// <summary>Tenant admin: every (filtered) entry of the log, streamed as JSON lines and parsed one line at a time.</summary>
    public async IAsyncEnumerable<AuditEntryResponse> ExportAuditAsync(string tenantId, AuditFilter? filter = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var request = Request(HttpMethod.Get, $"v1/tenants/{Escape(tenantId)}/audit/export" + AuditQuery(filter, 0, null));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(AuditEventTypes.JsonLines));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/problem+json")); // so a refusal still comes as a problem
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(response, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
            if (line.Length > 0) yield return JsonSerializer.Deserialize<AuditEntryResponse>(line, Json)!;
    }

    private static string AuditQuery(AuditFilter? filter, long after, int? limit)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null) parts.Add($"{name}={Uri.EscapeDataString(value)}");
        }

        if (after > 0) Add("after", after.ToString(CultureInfo.InvariantCulture));
        if (limit is { } l) Add("limit", l.ToString(CultureInfo.InvariantCulture));
        Add("type", filter?.Type);
        Add("session", filter?.Session);
        Add("actor", filter?.Actor);
        Add("pod", filter?.Pod);
        Add("since", filter?.Since?.ToString("O", CultureInfo.InvariantCulture));
        Add("until", filter?.Until?.ToString("O", CultureInfo.InvariantCulture));
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }
}
