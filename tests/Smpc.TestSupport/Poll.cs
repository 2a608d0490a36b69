using System.Diagnostics;

namespace Smpc.TestSupport;

/// <summary>Re-checks a condition until it holds or a generous bound passes: the bound guards against hangs and is never a pass condition.</summary>
public static class Poll
{
    /// <summary>True as soon as <paramref name="condition"/> holds; false once <paramref name="timeout"/> has passed without it (the caller asserts or throws with its own message).</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await condition()) return true;
            if (clock.Elapsed >= timeout) return false;
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50), ct);
        }
    }
}
