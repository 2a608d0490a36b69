// The .NET parties' ECDH PSI kernels, for bench/ecdh_psi.py: elements/s of blind (EcdhPsiClient.BlindBatch),
// blind_evaluate (a fresh EcdhPsiServer's Respond), finalize (FinalizeBatch) and evaluate (EncodeServerBatch), all
// cores (Parallel.For inside Smpc.Protocols), best of R runs over N records. Uses the .NET build's Smpc.Protocols.dll
// as it is (nothing is built) and NuGet's libsodium from the build output.
// Run: dotnet fsi clients/python/bench/ecdh_kernels_dotnet.fsx <build root> <N> <R>
open System
open System.IO
open System.Reflection
open System.Runtime.InteropServices

let args = fsi.CommandLineArgs |> Array.skip 1
let root = if args.Length > 0 then args.[0] else "."
let n = if args.Length > 1 then int args.[1] else 4000
let repeat = if args.Length > 2 then int args.[2] else 3
let bin = Path.Combine(root, "Protocols", "bin", "Debug", "net10.0")
let sodium = Path.Combine(root, "ApiGateway", "bin", "Debug", "net10.0", "runtimes", "linux-x64", "native", "libsodium.so")
AppDomain.CurrentDomain.add_AssemblyResolve(ResolveEventHandler(fun _ e ->
    let p = Path.Combine(bin, AssemblyName(e.Name).Name + ".dll")
    if File.Exists p then Assembly.LoadFrom p else null))
let protocols = Assembly.LoadFrom(Path.Combine(bin, "Smpc.Protocols.dll"))
NativeLibrary.SetDllImportResolver(protocols, DllImportResolver(fun name _ _ ->
    if name = "libsodium" then NativeLibrary.Load sodium else IntPtr.Zero))

let t name = protocols.GetType("Smpc.Protocols." + name, true)
let random = (t "Randomness.SystemRandomSource").GetProperty("Instance").GetValue(null)
let modeType = t "PrivateSetIntersection.PsiMode"
let intersection = Enum.Parse(modeType, "Intersection")
let records = Collections.Generic.List<byte[]>([ for i in 0 .. n - 1 -> Text.Encoding.UTF8.GetBytes(sprintf "person%d@example.org" i) ])
let clientType = t "PrivateSetIntersection.EcdhPsiClient"
let serverType = t "PrivateSetIntersection.EcdhPsiServer"
let newClient () = Activator.CreateInstance(clientType, [| intersection; random |])
let newServer () = Activator.CreateInstance(serverType, [| intersection; random; box Int32.MaxValue |])
let call (o: obj) (name: string) (a: obj[]) = o.GetType().GetMethod(name).Invoke(o, a)

let best (f: unit -> unit) =
    f ()
    let mutable b = Double.MaxValue
    for _ in 1 .. repeat do
        let sw = Diagnostics.Stopwatch.StartNew()
        f ()
        b <- min b sw.Elapsed.TotalSeconds
    float n / b

let blind = best (fun () -> call (newClient ()) "BlindBatch" [| records |] |> ignore)
let client = newClient ()
let query = call client "BlindBatch" [| records |] :?> byte[]
let respond () =
    let server = newServer ()
    let responder = call server "BeginQuery" [| box (int64 n) |]
    responder.GetType().GetMethod("Respond").Invoke(responder, [| box (ReadOnlyMemory<byte>(query)) |]) :?> byte[]
let blindEvaluate = best (fun () -> respond () |> ignore)
let reply = respond ()
// FinalizeBatch wipes the inverses it used: a fresh client (blinded once, outside the timing) per run.
let mutable finalizeBest = Double.MaxValue
for _ in 0 .. repeat do
    let c = newClient ()
    let q = call c "BlindBatch" [| records |] :?> byte[]
    let server = newServer ()
    let responder = call server "BeginQuery" [| box (int64 n) |]
    let r = responder.GetType().GetMethod("Respond").Invoke(responder, [| box (ReadOnlyMemory<byte>(q)) |]) :?> byte[]
    let sw = Diagnostics.Stopwatch.StartNew()
    call c "FinalizeBatch" [| box 0; records; box (ReadOnlyMemory<byte>(r)) |] |> ignore
    finalizeBest <- min finalizeBest sw.Elapsed.TotalSeconds
let finalize = float n / finalizeBest
let evaluate = best (fun () -> call (newServer ()) "EncodeServerBatch" [| records |] |> ignore)
printfn "{\"elements\": %d, \"cores\": %d, \"blind\": %.0f, \"blind_evaluate\": %.0f, \"finalize\": %.0f, \"evaluate\": %.0f}"
    n Environment.ProcessorCount blind blindEvaluate finalize evaluate
