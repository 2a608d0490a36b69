namespace Smpc.Bench;

/// <summary>End-to-end harness for the large-payload store (filled in by the foundation work).</summary>
public static class PayloadHarness
{
    public static Task<int> RunAsync(string[] args)
    {
        _ = args;
        return Task.FromResult(0);
    }
}
