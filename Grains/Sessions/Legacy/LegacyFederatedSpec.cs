using System.Text.Json;
using Smpc.Grains.Interfaces.Sessions;

namespace Smpc.Grains.Sessions.Legacy;

/// <summary>
/// (As federated sessions stored it before typed specs, in their own state and in the single session grain's.) The
/// modeller's REST request as JSON, and the session's lifetime. Read, converted to the typed spec, never written again.
/// </summary>
public sealed class LegacyFederatedSpec
{
    /// <summary>The gateway wrote the REST record with the web defaults (camelCase); its names are the typed spec's.</summary>
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string RequestJson { get; set; } = "";
    public TimeSpan Lifetime { get; set; }

    /// <summary>The request as the typed spec of a session of <paramref name="kind"/> (a query or a training spec; the other null).</summary>
    public (FederatedQuerySpec? Query, FederatedTrainingSpec? Training) ToSpec(SessionKind kind) => kind switch
    {
        SessionKind.FederatedQuery => (Read<FederatedQuerySpec>(), null),
        SessionKind.FederatedTraining => (null, Read<FederatedTrainingSpec>()),
        _ => throw new InvalidOperationException($"A {kind} session has no federated spec."),
    };

    private T Read<T>() => JsonSerializer.Deserialize<T>(RequestJson, Json)
        ?? throw new InvalidOperationException($"The stored federated request is not a {typeof(T).Name}: {RequestJson.Length} bytes of JSON.");
}
