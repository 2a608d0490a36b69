using Smpc.Client;
using Smpc.Contracts;
using Smpc.TestSupport;

namespace Smpc.Integration.Tests.CheatingService;

/// <summary>One real embedded service shared by the cheating-service tests (each test makes its own tenant).</summary>
public sealed class CheatingWorld : IAsyncLifetime
{
    private ServiceProcess? _silo;

    /// <summary>Scratch folder of the run.</summary>
    public string Work { get; } = Path.Combine(Path.GetTempPath(), "smpc-cheat-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>The service's address.</summary>
    public Uri BaseAddress => _silo!.BaseAddress!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Work);
        _silo = await Services.StartEmbeddedAsync(Path.Combine(Work, "data"));
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null) await _silo.DisposeAsync();
        try { Directory.Delete(Work, recursive: true); } catch (IOException) { }
    }

    /// <summary>A new tenant's admin client.</summary>
    internal async Task<SmpcClient> NewTenantAsync(string tenant)
    {
        var @operator = Services.OperatorFor(_silo!);
        return @operator.WithKey((await @operator.CreateTenantAsync(new CreateTenantRequest(tenant, tenant))).AdminKey!.ApiKey);
    }
}
