using System.Diagnostics;
using Smpc.Client.Contracts;

namespace Smpc.Gateway.Tests;

[Collection(EmbeddedServiceCollection.Name)]
public sealed class TracingTests(EmbeddedService service)
{
    [Fact]
    public async Task OneTrace_HoldsTheHttpSpan_TheGrainCall_AndTheSessionSpan()
    {
        var tenant = "tr-" + Guid.NewGuid().ToString("N")[..8];
        await service.Client.CreateTenantAsync(new CreateTenantRequest(tenant, "Traced"));

        // The HTTP server span ends last; wait for it rather than sleeping.
        Activity? http = null;
        for (var i = 0; i < 100 && http is null; i++)
        {
            http = service.SnapshotSpans().FirstOrDefault(a =>
                a.Source.Name == "Microsoft.AspNetCore" && a.Kind == ActivityKind.Server && a.GetTagItem("http.route") is "/v1/tenants/");
            if (http is null) await Task.Delay(20);
        }

        Assert.NotNull(http);
        var trace = service.SnapshotSpans().Where(a => a.TraceId == http!.TraceId).ToList();
        var grainCall = trace.FirstOrDefault(a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.Kind == ActivityKind.Client);
        var grainServer = trace.FirstOrDefault(a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.Kind == ActivityKind.Server);
        var custom = trace.FirstOrDefault(a => a.Source.Name == "Smpc.Grains" && a.OperationName == "tenant.create");
        Assert.NotNull(grainCall);
        Assert.NotNull(grainServer);
        Assert.NotNull(custom);
        Assert.Equal(tenant, custom!.GetTagItem("smpc.tenant"));
        Assert.Equal(grainServer!.SpanId, custom.ParentSpanId);
    }
}
