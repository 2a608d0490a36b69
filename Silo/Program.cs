using Smpc.Silo.Hosting;

// `dotnet run --project Silo`              embedded: one process, SQLite in ./data, REST on http://127.0.0.1:5080
// `dotnet run --project Silo -- migrate`   apply deploy/sql to the configured database and exit
if (args.FirstOrDefault() == SmpcApp.MigrateCommand) return await SmpcApp.MigrateAsync(args[1..]);

var app = await SmpcApp.BuildAsync(args);
await app.RunAsync();
return 0;
