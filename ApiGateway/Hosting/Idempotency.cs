using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.OpenApi;
using Smpc.ApiGateway.Auth;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Idempotency;

namespace Smpc.ApiGateway.Hosting;

/// <summary>Marks a route that honours the <c>Idempotency-Key</c> request header (see <see cref="IdempotencyExtensions.WithIdempotency"/>).</summary>
public sealed class IdempotentRouteMetadata;

/// <summary>
/// <c>Idempotency-Key</c> on creating routes: a retry with the same key (same credential, same route, same method, path and
/// body) answers the first response again with <c>Idempotency-Replayed: true</c>; the same key on another request is a 422
/// problem; a duplicate while the first runs (through any gateway) waits for it, then replays (409 with Retry-After if it
/// is still running after <see cref="IdempotencyMiddleware.MaxWait"/>; the running request renews its lease every
/// <see cref="IdempotencyMiddleware.RenewEvery"/>, so however long it runs no duplicate runs it again). Stored in <see cref="IIdempotencyGrain"/> for 24 h.
/// </summary>
public static class IdempotencyExtensions
{
    /// <summary>The request header.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>The response header of a replayed response.</summary>
    public const string ReplayedHeader = "Idempotency-Replayed";

    /// <summary>Longest key accepted.</summary>
    public const int MaxKeyLength = 255;

    /// <summary>Opts the route in to <c>Idempotency-Key</c> and documents the header and its problems in OpenAPI.</summary>
    public static TBuilder WithIdempotency<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new IdempotentRouteMetadata());
        builder.ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = Header,
                In = ParameterLocation.Header,
                Required = false,
                Description = "1–255 printable ASCII characters. A retry with the same key and the same request answers the first response again " +
                              "(header Idempotency-Replayed: true), for 24 h; the same key with another request is a 422 problem (idempotency-key-reused); " +
                              "a duplicate while the first is running waits for it, or is a 409 problem (idempotency-request-in-progress) with Retry-After; " +
                              "a malformed key is a 400 problem (invalid-idempotency-key). 5xx and 429 answers are not kept (the retry runs again).",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = MaxKeyLength },
            });
            foreach (var (status, response) in operation.Responses ?? [])
            {
                if (!status.StartsWith('2') || response is not OpenApiResponse r) continue;
                r.Headers ??= new Dictionary<string, IOpenApiHeader>();
                r.Headers[ReplayedHeader] = new OpenApiHeader
                {
                    Description = "\"true\" when this is the stored response of an earlier request with the same Idempotency-Key.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                };
            }

            return Task.CompletedTask;
        });
        return builder;
    }

    /// <summary>Runs the idempotency check for routes opted in with <see cref="WithIdempotency"/> (after authentication and authorization).</summary>
    public static IApplicationBuilder UseSmpcIdempotency(this IApplicationBuilder app) => app.UseMiddleware<IdempotencyMiddleware>();

    /// <summary>True for 1–255 printable ASCII characters.</summary>
    public static bool IsValidKey(string? key) => key is { Length: > 0 and <= MaxKeyLength } && key.All(c => c is >= ' ' and <= '~');
}

/// <summary>The middleware behind <see cref="IdempotencyExtensions.WithIdempotency"/>.</summary>
public sealed class IdempotencyMiddleware(RequestDelegate next, IGrainFactory grains, ILogger<IdempotencyMiddleware> logger)
{
    /// <summary>How long a duplicate waits for the first request before answering 409.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(20);

    /// <summary>How long a request holds its key without renewal before another gateway may take over (a gateway that died mid-request).</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    /// <summary>How often a running request renews its lease (to <see cref="Lease"/> from then), so a slow request keeps its key.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(20);

    private static readonly byte[] Info = "smpc idempotency v1"u8.ToArray();

    public async Task InvokeAsync(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<IdempotentRouteMetadata>() is null
            || !http.Request.Headers.TryGetValue(IdempotencyExtensions.Header, out var values) || http.User.Identity?.IsAuthenticated != true)
        {
            await next(http);
            return;
        }

        if (values.Count != 1 || !IdempotencyExtensions.IsValidKey(values[0]))
        {
            await ProblemAsync(http, StatusCodes.Status400BadRequest, ProblemTypes.InvalidIdempotencyKey, "Invalid idempotency key",
                $"{IdempotencyExtensions.Header} must be one value of 1 to {IdempotencyExtensions.MaxKeyLength} printable ASCII characters.");
            return;
        }

        var caller = http.User.ToCaller();
        var route = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? http.GetEndpoint()?.DisplayName ?? "";
        // Per credential: the key id tells apart a tenant's admin keys (which have no subject) and a member's keys; the operator
        // has one key (no key id).
        var scope = Encoding.UTF8.GetBytes($"{caller.Role}\n{caller.Tenant}\n{caller.Subject}\n{caller.KeyId}\n{route}");
        var key = Encoding.ASCII.GetBytes(values[0]!);
        var derived = HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 64, scope, Info);
        var sealKey = derived[..32];
        var macKey = derived[32..];
        var grainKey = Convert.ToHexStringLower(SHA256.HashData([.. key, 0, .. scope]));

        // The body is hashed as it is read (buffered for the handler; past 30 KB in a temporary file, within the body limit).
        http.Request.EnableBuffering();
        using var mac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, macKey);
        mac.AppendData(Encoding.UTF8.GetBytes($"{http.Request.Method}\n{http.Request.PathBase}{http.Request.Path}{http.Request.QueryString}\n"));
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0) mac.AppendData(chunk, 0, read);
        http.Request.Body.Position = 0;
        var requestHash = mac.GetHashAndReset();

        var grain = grains.GetGrain<IIdempotencyGrain>(grainKey);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var begin = await grain.BeginAsync(requestHash, Lease);
            switch (begin.Outcome)
            {
                case IdempotencyOutcome.Replay:
                    await ReplayAsync(http, Open(sealKey, grainKey, begin.SealedResponse!));
                    return;
                case IdempotencyOutcome.Mismatch:
                    await ProblemAsync(http, StatusCodes.Status422UnprocessableEntity, ProblemTypes.IdempotencyKeyReused, "Idempotency key reused",
                        $"This {IdempotencyExtensions.Header} was used for a different request (method, path or body) within the last 24 hours; use a new key for a new request.");
                    return;
                case IdempotencyOutcome.InProgress:
                    var left = MaxWait - waited.Elapsed;
                    if (left <= TimeSpan.Zero)
                    {
                        http.Response.Headers.RetryAfter = "5";
                        await ProblemAsync(http, StatusCodes.Status409Conflict, ProblemTypes.IdempotencyRequestInProgress, "Request in progress",
                            $"A request with this {IdempotencyExtensions.Header} is still running; retry later to get its response.");
                        return;
                    }

                    await grain.WaitAsync(left);
                    continue;
                default:
                    await RunAsync(http, grain, begin.Lease, sealKey, grainKey);
                    return;
            }
        }
    }

    /// <summary>Runs the request into a buffer, stores the answer if it is final (2xx, 4xx but 429), and sends it.</summary>
    private async Task RunAsync(HttpContext http, IIdempotencyGrain grain, Guid lease, byte[] sealKey, string grainKey)
    {
        var original = http.Response.Body;
        using var buffer = new MemoryStream();
        http.Response.Body = buffer;
        try
        {
            try
            {
                using var renewing = new CancellationTokenSource();
                var renewal = RenewWhileRunningAsync(grain, lease, renewing.Token);
                try
                {
                    await next(http);
                }
                finally
                {
                    await renewing.CancelAsync();
                    await renewal;
                }
            }
            catch (Exception ex)
            {
                // A refusal raised by the handler becomes its problem here, so that it is stored like any other answer.
                var handled = false;
                foreach (var handler in http.RequestServices.GetServices<IExceptionHandler>())
                    if (handled = await handler.TryHandleAsync(http, ex, http.RequestAborted)) break;
                if (!handled) throw;
            }
        }
        catch
        {
            http.Response.Body = original;
            await ReleaseAsync(grain, lease);
            throw;
        }

        http.Response.Body = original;

        var status = http.Response.StatusCode;
        if (status is >= 200 and < 300 or >= 400 and < 500 and not StatusCodes.Status429TooManyRequests and not 499)
        {
            var stored = new StoredResponse(status, http.Response.ContentType, http.Response.Headers.Location.ToString() is { Length: > 0 } l ? l : null,
                buffer.ToArray());
            try
            {
                await grain.CompleteAsync(lease, Seal(sealKey, grainKey, stored));
            }
            catch (Exception ex)
            {
                // The request is done and durable; only its replay is lost: the lease lapses and a retry runs again.
                logger.LogError("Could not store the response of an idempotent request: {Error}", ex.GetType().Name + ": " + ex.Message);
            }
        }
        else
        {
            await ReleaseAsync(grain, lease);
        }

        if (http.Response.StatusCode != 499 && buffer.Length > 0)
        {
            buffer.Position = 0;
            await buffer.CopyToAsync(original, http.RequestAborted);
        }
    }

    /// <summary>Renews the lease every <see cref="RenewEvery"/> until the request ends (or the lease is lost).</summary>
    private async Task RenewWhileRunningAsync(IIdempotencyGrain grain, Guid lease, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(RenewEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    if (!await grain.RenewAsync(lease, Lease)) return; // lost: CompleteAsync will say so too
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning("Could not renew an idempotency lease (retrying at the next tick): {Error}", ex.GetType().Name + ": " + ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReleaseAsync(IIdempotencyGrain grain, Guid lease)
    {
        try
        {
            await grain.ReleaseAsync(lease);
        }
        catch (Exception ex)
        {
            logger.LogWarning("Could not release an idempotency lease (it lapses by itself): {Error}", ex.GetType().Name + ": " + ex.Message);
        }
    }

    private static async Task ReplayAsync(HttpContext http, StoredResponse stored)
    {
        http.Response.StatusCode = stored.Status;
        if (stored.ContentType is not null) http.Response.ContentType = stored.ContentType;
        if (stored.Location is not null) http.Response.Headers.Location = stored.Location;
        http.Response.Headers[IdempotencyExtensions.ReplayedHeader] = "true";
        http.Response.ContentLength = stored.Body.Length;
        await http.Response.Body.WriteAsync(stored.Body, http.RequestAborted);
    }

    private static Task ProblemAsync(HttpContext http, int status, string type, string title, string detail)
    {
        http.Response.StatusCode = status;
        return http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Type = type, Title = title, Detail = detail },
        }).AsTask();
    }

    /// <summary>What is kept of a response: status, content type, location, body.</summary>
    private sealed record StoredResponse(int Status, string? ContentType, string? Location, byte[] Body);

    private const int NonceSize = 12, TagSize = 16;

    /// <summary>AES-256-GCM under the key derived from the Idempotency-Key, bound to the entry's grain key: nonce ‖ tag ‖ ciphertext.</summary>
    private static byte[] Seal(byte[] key, string grainKey, StoredResponse response)
    {
        var plain = JsonSerializer.SerializeToUtf8Bytes(response);
        var sealedBytes = new byte[NonceSize + TagSize + plain.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), Encoding.ASCII.GetBytes(grainKey));
        return sealedBytes;
    }

    private static StoredResponse Open(byte[] key, string grainKey, byte[] sealedBytes)
    {
        var plain = new byte[sealedBytes.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), plain, Encoding.ASCII.GetBytes(grainKey));
        return JsonSerializer.Deserialize<StoredResponse>(plain)!;
    }
}
