namespace Smpc.Integration.Tests.Cluster;

/// <summary>Holds requests matching a predicate until the test opens the gate, so a silo can be killed between two protocol steps.</summary>
internal sealed class RequestGate(Func<HttpRequestMessage, bool> matches) : DelegatingHandler
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first matching request is waiting at the gate.</summary>
    public Task Reached => _reached.Task;

    public void Open() => _open.TrySetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (matches(request))
        {
            _reached.TrySetResult();
            await _open.Task.WaitAsync(cancellationToken);
        }

        return await base.SendAsync(request, cancellationToken);
    }
}
