// REST contracts of /v1. Kept apart from grain messages so the wire format can evolve on its own.
// (One file: these are plain data records, read together as the API's vocabulary.)
namespace Smpc.Contracts;

/// <summary>Creates a tenant (operator only).</summary>
public sealed record CreateTenantRequest(string Id, string DisplayName);

/// <summary>A tenant. <c>AdminKey</c> is present only in the response that created it: keys are shown once.</summary>
public sealed record TenantResponse(string Id, string DisplayName, DateTimeOffset CreatedAt, int PodCount, int ModellerCount, IssuedKeyResponse? AdminKey = null);

/// <summary>
/// A tenant's limits (operator-set): request rate per credential (a token bucket of <c>Burst</c> requests refilled at
/// <c>RequestsPerSecond</c>), and quotas across gateways: sessions running at once, payload bytes and PSI elements per UTC
/// day (null: the gateway's defaults).
/// </summary>
public sealed record TenantLimitsRequest(double RequestsPerSecond, int Burst, int? MaxConcurrentSessions = null, long? PayloadBytesPerDay = null, long? PsiElementsPerDay = null);

/// <summary>A newly issued API key; the service keeps only its hash, so this is the only time it is shown.</summary>
public sealed record IssuedKeyResponse(string KeyId, string ApiKey, string Role);

/// <summary>Registers a pod with its Ed25519 identity public key (base64, 32 bytes).</summary>
public sealed record RegisterPodRequest(string Id, string DisplayName, string IdentityPublicKey);

/// <summary>
/// Registers a modeller, with its Ed25519 identity public key (base64, 32 bytes): pods act only on sessions it signed
/// (docs/protocols/signatures.md). A modeller registered without one can use the API but no pod acts on its sessions.
/// </summary>
public sealed record RegisterModellerRequest(string Id, string DisplayName, string? IdentityPublicKey = null);

/// <summary>A registered pod or modeller, with its identity key and that key's fingerprint for pinning (when it has one). <c>ApiKey</c> only on creation.</summary>
public sealed record MemberResponse(
    string Tenant, string Id, string DisplayName, DateTimeOffset RegisteredAt,
    string? IdentityPublicKey = null, string? IdentityFingerprint = null, IssuedKeyResponse? ApiKey = null);

/// <summary>What the service stores of an API key: never the secret. <c>RevokedAt</c> may lie ahead: the end of a rotation's overlap.</summary>
public sealed record CredentialResponse(string KeyId, string Role, string Tenant, string? Subject, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>Who the presented credential acts as.</summary>
public sealed record WhoAmIResponse(string Role, string? Tenant, string? Subject, string? KeyId);

/// <summary>
/// Creates a session. <c>Kind</c> is <c>secure-aggregation</c>, <c>psi</c>, <c>query</c> or <c>training</c>. A
/// secure-aggregation session with <c>Parent</c> is a round of that federated session, named by <c>aggregation.input</c>.
/// <c>ModellerSignature</c>: the modeller's Ed25519 signature (base64) of the session statement (docs/protocols/signatures.md),
/// which pods verify against the modeller's pinned identity before their first protocol step.
/// </summary>
public sealed record CreateSessionRequest(
    string Id, string ModellerId, string Kind, IReadOnlyList<string> PodIds, AggregationRequest? Aggregation = null, PsiRequest? Psi = null,
    QueryRequest? Query = null, TrainingRequest? Training = null, string? Parent = null, string? ModellerSignature = null);

/// <summary>A session; <c>Phase</c> is one of <see cref="SessionPhases"/>. Each kind carries its progress; a round names its <c>Parent</c>.</summary>
public sealed record SessionResponse(
    string Tenant, string Id, string ModellerId, string Kind, IReadOnlyList<string> PodIds, string Phase, DateTimeOffset CreatedAt, int Version,
    AggregationStatusResponse? Aggregation = null, string? TraceParent = null, PsiStatusResponse? Psi = null,
    FederatedStatusResponse? Federated = null, string? Parent = null, CancellationResponse? Cancellation = null, string? ModellerSignature = null);

/// <summary>
/// Cancels a session (its modeller or the tenant admin); the reason, if any, is stored and shown with the session.
/// <c>Signature</c>: the modeller's Ed25519 signature (base64) of the cancel statement (docs/protocols/signatures.md).
/// </summary>
public sealed record CancelSessionRequest(string? Reason = null, string? Signature = null);

/// <summary>
/// Who cancelled a session (<c>Role</c> and, for a modeller, <c>By</c>), when, why, and the modeller's signature of the
/// cancel with the reason exactly as it was signed (<c>SignedReason</c>), if it gave one.
/// </summary>
public sealed record CancellationResponse(string Role, string? By, string? Reason, DateTimeOffset At, string? Signature = null, string? SignedReason = null);

/// <summary>The manifest of a stored payload (its bytes are fetched separately as application/octet-stream).</summary>
public sealed record PayloadResponse(string Name, long Length, int ChunkCount, string Sha256, DateTimeOffset CompletedAt);

/// <summary>Readiness of the service.</summary>
public sealed record HealthResponse(string Status, string? Storage);

/// <summary>One session in a list (the full detail is <c>GET …/sessions/{id}</c>); <c>Phase</c> is one of <see cref="SessionPhases"/>.</summary>
public sealed record SessionSummaryResponse(
    string Tenant, string Id, string Kind, string Phase, string ModellerId, IReadOnlyList<string> PodIds, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt, DateTimeOffset? EndedAt, int Version, string? Parent);

/// <summary>One page of sessions, newest first; <c>Next</c> is the opaque cursor of the next page, or null on the last.</summary>
public sealed record SessionPageResponse(IReadOnlyList<SessionSummaryResponse> Items, string? Next);

/// <summary>A tenant's usage today (UTC) beside the limits in force (its own or the gateway's defaults).</summary>
public sealed record TenantUsageResponse(
    string Tenant, string Day, long SessionsRunning, int MaxConcurrentSessions, long PayloadBytes, long PayloadBytesPerDay,
    long PsiElements, long PsiElementsPerDay, double RequestsPerSecond, int Burst);
