using System.Net;
using Smpc.Client;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Audit;

/// <summary>Reads a whole audit log (or a pod's view of it) by following the cursor, as a client would.</summary>
internal static class AuditReading
{
    public static async Task<List<AuditEntryResponse>> AllAsync(SmpcClient client, string tenant, AuditFilter? filter = null, int limit = 500, string? pod = null)
    {
        var all = new List<AuditEntryResponse>();
        long? next = 0;
        while (next is { } after)
        {
            var page = pod is null
                ? await client.ListAuditAsync(tenant, filter, after, limit)
                : await client.ListPodAuditAsync(tenant, pod, filter, after, limit);
            Assert.True(page.Entries.Count <= limit, $"a page of {page.Entries.Count} entries for limit {limit}");
            all.AddRange(page.Entries);
            next = page.Next;
        }

        return all;
    }

    /// <summary>The entries after the log's current head, once <paramref name="act"/> has run.</summary>
    public static async Task<List<AuditEntryResponse>> AfterAsync(SmpcClient admin, string tenant, Func<Task> act, AuditFilter? filter = null)
    {
        var head = (await admin.ListAuditAsync(tenant, limit: 1)).Head;
        await act();
        var entries = await AllAsync(admin, tenant, filter);
        return [.. entries.Where(e => e.Sequence > head)];
    }

    /// <summary>An entry as comparable values (records compare lists by reference).</summary>
    public static string Describe(AuditEntryResponse e) =>
        $"{e.Sequence}|{e.Time:O}|{e.Type}|{e.Actor}|{e.Session}|{string.Join(",", e.Pods)}|{e.Modeller}|{e.KeyId}|{e.TraceId}|{e.Detail}";

    public static async Task<SmpcApiException> RefusedAsync(HttpStatusCode status, string problemType, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<SmpcApiException>(call);
        Assert.Equal(status, error.Status);
        Assert.Equal(problemType, error.Type);
        return error;
    }
}
