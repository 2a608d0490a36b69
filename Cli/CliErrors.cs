using System.Net;
using System.Text.Json;
using Smpc.Client;
using Smpc.Client.Federated;
using Smpc.Client.Identity;
using Smpc.Client.Psi;
using Smpc.Client.SecureAggregation;
using Smpc.Protocols.Federated.Query;

namespace Smpc.Cli;

/// <summary>
/// Turns any failure into one line naming the problem and the fix, and an exit code from <see cref="ExitCodes"/>. The one
/// home of this mapping: commands throw, <see cref="SmpcCommands.InvokeAsync"/> reports. The trace only with --verbose.
/// </summary>
public static class CliErrors
{
    /// <summary>The exit code and the one-line message for <paramref name="error"/>; <paramref name="url"/> is the service's address as given.</summary>
    public static (int ExitCode, string Message) Describe(Exception error, string? url)
    {
        ArgumentNullException.ThrowIfNull(error);
        var service = string.IsNullOrEmpty(url) ? "the service" : url;
        return error switch
        {
            CliException e => (e.ExitCode, e.Message),
            PinMismatchException e => (ExitCodes.IdentityMismatch, e.Message),
            SmpcApiException e => Describe(e),
            HttpRequestException e => (ExitCodes.Unavailable,
                $"cannot reach {service}: {Innermost(e).Message}. Check --url (or SMPC_URL) and that the service runs (`smpc health`)."),
            OperationCanceledException { InnerException: TimeoutException } => (ExitCodes.Unavailable,
                $"{service} did not answer in time. Check --url (or SMPC_URL) and that the service runs (`smpc health`)."),
            OperationCanceledException => (ExitCodes.Cancelled, "stopped."),
            FileNotFoundException e => (ExitCodes.Input, $"file not found: {e.FileName ?? e.Message}. Check the path."),
            DirectoryNotFoundException e => (ExitCodes.Input, $"{Trim(e.Message)} Check the path."),
            UnauthorizedAccessException e => (ExitCodes.Input, $"{Trim(e.Message)} Check the file's permissions."),
            JsonException e => (ExitCodes.Input, $"invalid JSON{(e.Path is { } p ? $" at {p}" : "")}: {FirstSentence(e.Message)}"),
            InvalidDataException e => (ExitCodes.Input, e.Message),
            IOException e => (ExitCodes.Input, e.Message),
            UriFormatException => (ExitCodes.Usage, $"--url '{url}' is not a URL; give e.g. http://127.0.0.1:5080 (several: comma-separated)."),
            ArgumentException e => (ExitCodes.Usage, Trim(e.Message)),
            FormatException e => (ExitCodes.Usage, e.Message),
            OverflowException e => (ExitCodes.Usage, e.Message),
            SecureAggregationFailedException e => (ExitCodes.Refused, $"the session failed: {e.Message}"),
            PsiFailedException e => (ExitCodes.Refused, $"the session failed: {e.Message}"),
            Smpc.Protocols.PrivateSetIntersection.RsaKeyRefusedException e => (ExitCodes.Refused, $"the session was cancelled, the pod's key being refused: {e.Message}"),
            FederatedSessionFailedException e => (ExitCodes.Refused, $"the session failed: {e.Message}"),
            QuerySpecException e => (ExitCodes.Input, e.Message),
            _ => (ExitCodes.Internal, $"internal error ({error.GetType().Name}: {error.Message}). Rerun with --verbose and report the trace."),
        };
    }

    private static (int, string) Describe(SmpcApiException e)
    {
        var what = string.IsNullOrWhiteSpace(e.Detail) ? e.Title ?? e.Status.ToString() : e.Detail;
        return e.Status switch
        {
            HttpStatusCode.Unauthorized => (ExitCodes.Auth,
                $"the service does not accept the API key ({what}). Give a valid key with --key or SMPC_KEY (keys are shown once when issued)."),
            HttpStatusCode.Forbidden => (ExitCodes.Auth, $"not allowed: {what} Use the key of a caller with that role (`smpc me` shows who a key acts as)."),
            HttpStatusCode.NotFound => (ExitCodes.NotFound, $"not found: {what} Check the ids, and that the key belongs to that tenant."),
            HttpStatusCode.TooManyRequests => (ExitCodes.Unavailable, $"too many requests: {what} Retry later."),
            >= HttpStatusCode.InternalServerError => (ExitCodes.Unavailable, $"the service is unavailable ({(int)e.Status} {e.Title}): {what}"),
            _ => (ExitCodes.Refused, $"the service refused the request ({(int)e.Status} {e.Title}): {what}"),
        };
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner) e = inner;
        return e;
    }

    private static string Trim(string message) => message.Split(" (Parameter '", 2)[0];

    private static string FirstSentence(string message) => message.Split(" Path: ", 2)[0].Split(" | LineNumber", 2)[0];
}
