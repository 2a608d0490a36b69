using Smpc.ApiGateway.Hosting;

await GatewayApp.Build(WebApplication.CreateBuilder(args)).RunAsync();
