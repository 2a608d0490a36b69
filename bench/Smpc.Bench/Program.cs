using Smpc.Bench;

// `dotnet run -c Release --project bench/Smpc.Bench -- kernels [BenchmarkDotNet args]`
// `dotnet run -c Release --project bench/Smpc.Bench -- payload [--mib 256]`
return args.FirstOrDefault() switch
{
    "kernels" => KernelBenchmarks.Run(args[1..]),
    "payload" => await PayloadHarness.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Smpc.Bench kernels [BenchmarkDotNet args] | payload [--mib N]");
    return 2;
}
