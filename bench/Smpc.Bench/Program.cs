using Smpc.Bench;

// `dotnet run -c Release --project bench/Smpc.Bench -- kernels [BenchmarkDotNet args]`
// `dotnet run -c Release --project bench/Smpc.Bench -- payload [--mib 256] [--postgres]`
// `dotnet run -c Release --project bench/Smpc.Bench -- secagg [--pods 10] [--elements 1000000] [--dropouts 3]`
// `dotnet run -c Release --project bench/Smpc.Bench -- psi [--protocol ecdh|rsa-blind|kkrt] [--compare ecdh,rsa-blind] [--shape customers|ids] [--pod 1000000] [--modeller 100000] [--overlap 10000]`
// `dotnet run -c Release --project bench/Smpc.Bench -- query [--pods 3] [--rows 1000000]`
// `dotnet run -c Release --project bench/Smpc.Bench -- cluster [--silos 1,3] [--clients 64] [--long-polls 100] [--seconds 20] [--sessions 20] [--pods 10] [--parameters 100000]`
// `dotnet run -c Release --project bench/Smpc.Bench -- train [--pods 5] [--rounds 20] [--parameters 1000] [--rows 2000] [--trainer logistic|linear] [--epochs 5] [--lr 0.5]`
return args.FirstOrDefault() switch
{
    "kernels" => KernelBenchmarks.Run(args[1..]),
    "payload" => await PayloadHarness.RunAsync(args[1..]),
    "secagg" => await SecureAggregationHarness.RunAsync(args[1..]),
    "psi" => await PsiHarness.RunAsync(args[1..]),
    "psi-compute" => await PsiHarness.ComputeAsync(args[1..]),
    "query" => await QueryHarness.RunAsync(args[1..]),
    "train" => await TrainingHarness.RunAsync(args[1..]),
    "cluster" => await ClusterLoadHarness.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Smpc.Bench kernels [BenchmarkDotNet args] | payload [--mib N] [--postgres] | secagg [--pods N] [--elements N] [--dropouts N] | psi-compute [--modeller N] [--pod N] | psi [--protocol ecdh|rsa-blind|kkrt] [--compare P,P] [--shape customers|ids] [--pod N] [--modeller N] [--overlap N] | query [--pods N] [--rows N] | train [--pods N] [--rounds N] [--parameters N] [--rows N] [--trainer logistic|linear] [--epochs N] [--lr X] | cluster [--silos 1,3] [--clients N] [--long-polls N] [--seconds N] [--sessions N] [--pods N] [--parameters N] [--control-only]");
    return 2;
}
