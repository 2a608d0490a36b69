using Smpc.ApiGateway.Hosting;

// The standalone gateway: an Orleans client of a PostgreSQL-clustered service (DESIGN.md §4).
var builder = WebApplication.CreateBuilder(args);
builder.AddSmpcTelemetry("smpc-gateway");
builder.AddSmpcGateway();
builder.AddSmpcClusterClient();
if (builder.Configuration.GetSection(RestGatewayOptions.Section).Get<RestGatewayOptions>()?.OperatorKeyHash() is null)
    Console.Error.WriteLine("warning: no operator key configured (Smpc__Gateway__OperatorKeySha256); tenants cannot be created through this gateway.");
var app = builder.Build();
app.MapSmpcGateway();
await app.RunAsync();
