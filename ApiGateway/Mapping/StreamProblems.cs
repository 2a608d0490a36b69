using Microsoft.AspNetCore.Http.HttpResults;
using Smpc.Contracts;

namespace Smpc.ApiGateway.Mapping;

/// <summary>The problems of a streamed protocol body refused before it is read (wrong media type, too large).</summary>
internal static class StreamProblems
{
    public static ProblemHttpResult UnsupportedMediaType(string detail) =>
        Problems.ProblemMapping.Problem(StatusCodes.Status415UnsupportedMediaType, ProblemTypes.UnsupportedMediaType, "Unsupported media type", detail);

    public static ProblemHttpResult TooLarge(string detail) =>
        Problems.ProblemMapping.Problem(StatusCodes.Status413PayloadTooLarge, ProblemTypes.PayloadTooLarge, "Payload too large", detail);
}
