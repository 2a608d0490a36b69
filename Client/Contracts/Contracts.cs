// REST contracts of /v1. Kept apart from grain messages so the wire format can evolve on its own.
// (One file: these are plain data records, read together as the API's vocabulary.)
namespace Smpc.Client.Contracts;

/// <summary>Creates a tenant.</summary>
public sealed record CreateTenantRequest(string Id, string DisplayName);

/// <summary>A tenant.</summary>
public sealed record TenantResponse(string Id, string DisplayName, DateTimeOffset CreatedAt, int PodCount, int ModellerCount);

/// <summary>Registers a pod or a modeller in a tenant.</summary>
public sealed record RegisterMemberRequest(string Id, string DisplayName);

/// <summary>A registered pod or modeller.</summary>
public sealed record MemberResponse(string Tenant, string Id, string DisplayName, DateTimeOffset RegisteredAt);

/// <summary>Creates a session. <c>Kind</c> is <c>secure-aggregation</c> or <c>psi</c>.</summary>
public sealed record CreateSessionRequest(string Id, string ModellerId, string Kind, IReadOnlyList<string> PodIds);

/// <summary>A session. <c>Phase</c> is <c>created</c>, <c>completed</c> or <c>failed</c>.</summary>
public sealed record SessionResponse(
    string Tenant, string Id, string ModellerId, string Kind, IReadOnlyList<string> PodIds, string Phase, DateTimeOffset CreatedAt, int Version);

/// <summary>The manifest of a stored payload (its bytes are fetched separately as application/octet-stream).</summary>
public sealed record PayloadResponse(string Name, long Length, int ChunkCount, string Sha256, DateTimeOffset CompletedAt);

/// <summary>Readiness of the service.</summary>
public sealed record HealthResponse(string Status, string? Storage);
