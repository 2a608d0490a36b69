using System.Net;
using Smpc.Client;

namespace Smpc.Client.Tests;

/// <summary>What the client retries while the service is unreachable, and what it leaves to the caller.</summary>
public sealed class TransientRetryHandlerTests
{
    [Fact]
    public async Task AConnectTimeout_IsRetried_LikeARefusedConnection_WithProgressReported()
    {
        var failures = new Queue<Exception>([
            new TaskCanceledException("connect timed out", new TimeoutException()), // SocketsHttpHandler's ConnectTimeout
            new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused"),
        ]);
        var retries = new List<Exception?>();
        using var http = new HttpClient(new TransientRetryHandler(new Scripted(failures)) { OnRetry = (_, e) => retries.Add(e) });

        using var response = await http.GetAsync(new Uri("http://gateway.invalid/health/ready"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Collection(retries, e => Assert.IsType<TaskCanceledException>(e), e => Assert.IsType<HttpRequestException>(e));
    }

    [Fact]
    public async Task TheCallersCancellation_IsNotRetried()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var retries = 0;
        using var http = new HttpClient(new TransientRetryHandler(new Scripted(new Queue<Exception>())) { OnRetry = (_, _) => retries++ });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.GetAsync(new Uri("http://gateway.invalid/"), cancelled.Token));
        Assert.Equal(0, retries);
    }

    [Fact]
    public async Task AfterTheBudget_TheLastFailureIsThrown()
    {
        var failures = new Queue<Exception>(Enumerable.Range(0, 100).Select(_ => (Exception)new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused")));
        using var http = new HttpClient(new TransientRetryHandler(new Scripted(failures)) { MaxElapsed = TimeSpan.Zero });

        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri("http://gateway.invalid/")));
        Assert.Equal(99, failures.Count); // one attempt, no retry
    }

    /// <summary>Fails with the queued exceptions, then answers 200.</summary>
    private sealed class Scripted(Queue<Exception> failures) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return failures.TryDequeue(out var failure) ? Task.FromException<HttpResponseMessage>(failure) : Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }
}
