using System.Net;

namespace Smpc.Agent;

/// <summary>What the command line sets over the agent's configuration file (null: the file's value).</summary>
/// <param name="Url">The service's URL(s), over the file's <c>url</c>.</param>
/// <param name="ApiKey">The pod's API key, over the file's <c>apiKey</c> and its environment variable.</param>
/// <param name="RetryFor">How long one request keeps retrying while the service is unavailable.</param>
/// <param name="OnRetry">Called before each retry, e.g. to log progress.</param>
public sealed record PodAgentOverrides(string? Url = null, string? ApiKey = null, TimeSpan? RetryFor = null, Action<HttpStatusCode?, Exception?>? OnRetry = null);
