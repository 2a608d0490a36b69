using System.Globalization;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Access;
using Smpc.Grains.Interfaces.Audit;
using Smpc.Grains.Interfaces.Tenancy;
using Smpc.Protocols.Crypto;

namespace Smpc.Grains.Audit;

/// <summary>The audit events of tenancy and credentials, built in one place so hooks stay one line and details stay free of secrets.</summary>
internal static class AuditEvents
{
    public static AuditEvent TenantCreated(Caller caller) => new(AuditEventTypes.TenantCreated, AuditActor.Of(caller));

    public static AuditEvent LimitsChanged(Caller caller, TenantLimits? limits) => new(AuditEventTypes.TenantLimitsChanged, AuditActor.Of(caller),
        Detail: limits is null
            ? "limits reset to the gateway's defaults"
            : string.Create(CultureInfo.InvariantCulture,
                $"requestsPerSecond={limits.RequestsPerSecond}, burst={limits.Burst}, maxConcurrentSessions={limits.MaxConcurrentSessions?.ToString(CultureInfo.InvariantCulture) ?? "default"}, "
                + $"payloadBytesPerDay={limits.PayloadBytesPerDay?.ToString(CultureInfo.InvariantCulture) ?? "default"}, psiElementsPerDay={limits.PsiElementsPerDay?.ToString(CultureInfo.InvariantCulture) ?? "default"}"));

    /// <summary>A key issued for <paramref name="role"/> (and its subject); the key id only, never the secret or its hash.</summary>
    public static AuditEvent CredentialIssued(Caller caller, CallerRole role, string? subject, string keyId) =>
        Credential(AuditEventTypes.CredentialIssued, caller, role, subject, keyId, $"{role} key issued" + (subject is null ? "" : $" for {subject}"));

    /// <summary>A revocation at once, or scheduled for <paramref name="at"/>.</summary>
    public static AuditEvent CredentialRevoked(Caller caller, CallerRole role, string? subject, string keyId, TimeSpan after, DateTimeOffset at) => after == TimeSpan.Zero
        ? Credential(AuditEventTypes.CredentialRevoked, caller, role, subject, keyId, $"{role} key revoked")
        : Credential(AuditEventTypes.CredentialRevocationScheduled, caller, role, subject, keyId, $"{role} key stops working at {at:O}");

    /// <summary>A registered pod or modeller (with the pod's identity key fingerprint, public by design) and its first key.</summary>
    public static AuditEvent[] MemberRegistered(Caller caller, MemberKind kind, string id, byte[] identityPublicKey, string keyId)
    {
        var role = kind == MemberKind.Pod ? CallerRole.Pod : CallerRole.Modeller;
        var registered = kind == MemberKind.Pod
            ? new AuditEvent(AuditEventTypes.PodRegistered, AuditActor.Of(caller), Pods: [id], Detail: $"identity key {KeyFingerprint.Compute(identityPublicKey)}")
            : new AuditEvent(AuditEventTypes.ModellerRegistered, AuditActor.Of(caller), Modeller: id);
        return [registered, CredentialIssued(caller, role, id, keyId)];
    }

    private static AuditEvent Credential(string type, Caller caller, CallerRole role, string? subject, string keyId, string detail) => new(
        type, AuditActor.Of(caller), Pods: role == CallerRole.Pod && subject is not null ? [subject] : null,
        Modeller: role == CallerRole.Modeller ? subject : null, KeyId: keyId, Detail: detail);
}
