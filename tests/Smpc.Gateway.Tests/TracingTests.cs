using System.Diagnostics;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests;

[Collection(EmbeddedServiceCollection.Name)]
public sealed class TracingTests(EmbeddedService service)
{
    [Fact]
    public async Task OneTrace_HoldsTheHttpSpan_TheGrainCall_AndTheSessionSpan()
    {
        var tenant = "tr-" + Guid.NewGuid().ToString("N")[..8];
        await service.Operator.CreateTenantAsync(new CreateTenantRequest(tenant, "Traced"));

        // The HTTP server span ends last; wait for it rather than sleeping. Other tests create tenants too: find this
        // tenant's grain span first, then the HTTP span of the same trace.
        Activity? http = null;
        for (var i = 0; i < 1500 && http is null; i++) // a bound against a hang, not a time limit
        {
            var mine = service.SnapshotSpans().FirstOrDefault(a => a.OperationName == "tenant.create" && (a.GetTagItem("smpc.tenant") as string) == tenant);
            http = mine is null ? null : service.SnapshotSpans().FirstOrDefault(a =>
                a.TraceId == mine.TraceId && a.Source.Name == "Microsoft.AspNetCore" && a.Kind == ActivityKind.Server && a.GetTagItem("http.route") is "/v1/tenants/");
            if (http is null) await Task.Delay(20);
        }

        Assert.NotNull(http);
        var trace = service.SnapshotSpans().Where(a => a.TraceId == http!.TraceId).ToDictionary(a => a.SpanId);
        var custom = trace.Values.SingleOrDefault(a => a.Source.Name == "Smpc.Grains" && a.OperationName == "tenant.create");
        Assert.NotNull(custom);
        Assert.Equal(tenant, custom!.GetTagItem("smpc.tenant"));

        // Walk up from the grain's own span to the HTTP request: grain server span, grain client span, ..., HTTP span.
        var chain = new List<Activity>();
        for (var span = custom; span is not null; span = trace.GetValueOrDefault(span.ParentSpanId)) chain.Add(span);
        // (The chain goes on past the HTTP server span into the test's own HttpClient span: same process, same exporter.)
        Assert.Contains(chain, a => a.SpanId == http!.SpanId);
        Assert.True(IsOrleans(chain[1], ActivityKind.Server), $"parent of tenant.create is {chain[1].Source.Name}/{chain[1].Kind}");
        Assert.Contains(chain, a => IsOrleans(a, ActivityKind.Client));

        static bool IsOrleans(Activity a, ActivityKind kind) => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.Kind == kind;
    }
}
