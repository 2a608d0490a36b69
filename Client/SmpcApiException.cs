using System.Net;

namespace Smpc.Client;

/// <summary>An RFC 9457 problem returned by the service; branch on <see cref="Type"/>.</summary>
public sealed class SmpcApiException(HttpStatusCode status, string? type, string? title, string? detail)
    : Exception($"{(int)status} {title}: {detail} ({type})")
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The stable problem type URI (see <see cref="Contracts.ProblemTypes"/>).</summary>
    public string? Type { get; } = type;

    public string? Title { get; } = title;

    public string? Detail { get; } = detail;
}
