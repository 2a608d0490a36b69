using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Transfers;

/// <summary>Downloads answer one byte range (RFC 9110 §14) so a cut download resumes; the digest stays the whole payload's.</summary>
[Collection(EmbeddedServiceCollection.Name)]
public sealed class RangeDownloadTests(EmbeddedService service)
{
    private const int Chunk = 1 << 20; // the embedded service's chunk size
    private static readonly byte[] Bytes = RandomNumberGenerator.GetBytes((2 * Chunk) + (Chunk / 2));

    [Theory]
    [InlineData("bytes=1048570-1048580", 1048570L, 1048580L)] // across a chunk boundary
    [InlineData("bytes=2000000-", 2000000L, (2L * Chunk) + (Chunk / 2) - 1)] // the rest, from inside the last chunk
    [InlineData("bytes=0-0", 0L, 0L)]
    [InlineData("bytes=-100", (2L * Chunk) + (Chunk / 2) - 100, (2L * Chunk) + (Chunk / 2) - 1)] // a suffix
    [InlineData("bytes=2621000-9999999", 2621000L, (2L * Chunk) + (Chunk / 2) - 1)] // an end past the end is clamped
    public async Task ARange_IsAnswered206_WithExactlyThoseBytes_AndTheWholePayloadsDigest(string range, long first, long last)
    {
        var (t, path) = await StoreAsync();
        using var response = await GetAsync(t, path, range);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {first}-{last}/{Bytes.Length}", response.Content.Headers.ContentRange!.ToString());
        Assert.Equal(last - first + 1, response.Content.Headers.ContentLength);
        Assert.Equal(Bytes.AsSpan((int)first, (int)(last - first + 1)).ToArray(), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal($"sha-256=:{Convert.ToBase64String(SHA256.HashData(Bytes))}:", string.Join(",", response.Headers.GetValues("Repr-Digest")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("bytes=0-1,5-6")] // several ranges: the whole is sent instead (RFC 9110 lets a server ignore Range)
    [InlineData("items=0-1")]
    [InlineData("bytes=9-2")]
    public async Task NoRangeOrOneItIgnores_SendsTheWhole_AndSaysRangesAreAccepted(string? range)
    {
        var (t, path) = await StoreAsync();
        using var response = await GetAsync(t, path, range);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["bytes"], response.Headers.AcceptRanges);
        Assert.Null(response.Content.Headers.ContentRange);
        Assert.Equal(Bytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("bytes=2621440-")] // exactly the length: starts past the last byte
    [InlineData("bytes=-0")]
    public async Task ARangePastTheEnd_Is416_NamingTheLength(string range)
    {
        var (t, path) = await StoreAsync();
        using var response = await GetAsync(t, path, range);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{Bytes.Length}", response.Content.Headers.ContentRange!.ToString());
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(ProblemTypes.RangeNotSatisfiable, problem.RootElement.GetProperty("type").GetString());
    }

    private async Task<(TenantClients T, string Path)> StoreAsync()
    {
        var t = await Scenario.TenantWithSessionAsync(service);
        await t.Pods["p1"].UploadPayloadAsync(t.Tenant, "s1", "blob", new MemoryStream(Bytes));
        return (t, $"v1/tenants/{t.Tenant}/sessions/s1/payloads/blob");
    }

    private async Task<HttpResponseMessage> GetAsync(TenantClients t, string path, string? range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.Modeller.ApiKey);
        if (range is not null) request.Headers.TryAddWithoutValidation("Range", range);
        return await service.Http.SendAsync(request);
    }
}
