using Smpc.ApiGateway.Hosting;

// The standalone gateway: an Orleans client of a PostgreSQL-clustered service (DESIGN.md §4).
var builder = WebApplication.CreateBuilder(args);
builder.AddSmpcTelemetry("smpc-gateway");
builder.AddSmpcGateway();
builder.AddSmpcClusterClient();
var app = builder.Build();
app.MapSmpcGateway();
await app.RunAsync();
