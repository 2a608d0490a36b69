using Smpc.Contracts;
using Smpc.Protocols.Crypto;
using Smpc.Protocols.Randomness;
using Smpc.Protocols.Signatures;

namespace Smpc.Protocols.Tests.Signatures;

/// <summary>
/// The session statement binds everything pods act on: a service that changes any of it (M, t, the layout, the pods or
/// their order, the operation, a PSI or federated spec, the parent, the modeller) gets a statement the modeller's
/// signature does not verify over. And the statement of the request equals the one recomputed from the session served.
/// </summary>
public sealed class ModellerStatementTests
{
    private static readonly string M = Convert.ToBase64String(new byte[32]);

    private static CreateSessionRequest Aggregation() => new("s1", "m1", SessionKinds.SecureAggregation, ["p1", "p2", "p3"],
        new AggregationRequest([new AggregationFieldRequest("x", 3, -10, 10)], "sum", M, "x"));

    private static SessionResponse Served(CreateSessionRequest r, int threshold = 2) => new("acme", r.Id, r.ModellerId, r.Kind, r.PodIds, SessionPhases.KeyExchange,
        DateTimeOffset.UnixEpoch, 1, new AggregationStatusResponse("acme/" + r.Id, threshold,
            [.. r.Aggregation!.Fields.Select(f => f with { Precision = f.Precision ?? 10_000_000_000 })], r.Aggregation.Operation, r.Aggregation.Input,
            r.Aggregation.Weight, r.Aggregation.ModellerPublicKey, null, null, [], [], [], [], [], null, null), Parent: r.Parent);

    [Fact]
    public void The_request_and_the_session_as_served_give_the_same_statement()
    {
        var request = Aggregation();
        Assert.Equal(ModellerStatements.Session("acme", request), ModellerStatements.Session(Served(request)));
    }

    public static TheoryData<string> Substitutions => ["modeller-key", "threshold", "pod-order", "pods", "layout", "precision", "operation", "input", "parent", "modeller", "tenant", "session"];

    [Theory]
    [MemberData(nameof(Substitutions))]
    public void Any_substitution_by_the_service_changes_the_statement(string what)
    {
        var request = Aggregation();
        var served = Served(request);
        var a = served.Aggregation!;
        var changed = what switch
        {
            "modeller-key" => served with { Aggregation = a with { ModellerPublicKey = Convert.ToBase64String(Enumerable.Repeat((byte)9, 32).ToArray()) } },
            "threshold" => served with { Aggregation = a with { Threshold = 3 } },
            "pod-order" => served with { PodIds = ["p2", "p1", "p3"] },
            "pods" => served with { PodIds = ["p1", "p2", "p4"] },
            "layout" => served with { Aggregation = a with { Fields = [new AggregationFieldRequest("x", 3, -10, 11)] } },
            "precision" => served with { Aggregation = a with { Fields = [new AggregationFieldRequest("x", 3, -10, 10, 1000)] } },
            "operation" => served with { Aggregation = a with { Operation = "mean" } },
            "input" => served with { Aggregation = a with { Input = "salary" } },
            "parent" => served with { Parent = "q" },
            "modeller" => served with { ModellerId = "m2" },
            "tenant" => served with { Tenant = "other", Aggregation = a with { ProtocolSessionId = "other/s1" } },
            "session" => served with { Aggregation = a with { ProtocolSessionId = "acme/s2" } },
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        using var identity = Ed25519KeyPair.Generate(SystemRandomSource.Instance);
        var signature = identity.Sign(ModellerStatements.Session("acme", request));
        Assert.False(Ed25519KeyPair.Verify(identity.PublicKey, ModellerStatements.Session(changed), signature));
        Assert.True(Ed25519KeyPair.Verify(identity.PublicKey, ModellerStatements.Session(served), signature));
    }

    [Fact]
    public void A_psi_spec_is_bound_whole_and_an_absent_key_size_is_the_effective_default()
    {
        var spec = new PsiRequest(PsiModeNames.Intersection, [new PsiColumnRequest("e", "email")], [new PsiColumnRequest("mail", "email")], "crm", 10, PsiProtocolNames.RsaBlind);
        var request = new CreateSessionRequest("psi", "m1", SessionKinds.Psi, ["bank"], Psi: spec);
        SessionResponse Served(PsiRequest p, int? bits) => new("acme", "psi", "m1", SessionKinds.Psi, ["bank"], SessionPhases.AwaitingPod, DateTimeOffset.UnixEpoch, 1,
            Psi: new PsiStatusResponse(p.Protocol, p.Mode, p.ModellerColumns, p.PodColumns, p.Source, p.ModellerSetSize, bits, p.TimeoutSeconds, null, null,
                false, false, null, false, false, false, null, null, null));
        var signed = ModellerStatements.Session("acme", request);
        Assert.Equal(signed, ModellerStatements.Session(Served(spec, 3072)));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(spec, 2048)));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(spec with { Source = "other" }, 3072)));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(spec with { ModellerSetSize = 11 }, 3072)));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(spec with { Mode = PsiModeNames.Cardinality }, 3072)));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(spec with { PodColumns = [new PsiColumnRequest("mail2", "email")] }, 3072)));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(spec with { TimeoutSeconds = 60 }, 3072)));
    }

    [Fact]
    public void A_federated_spec_is_bound_whole()
    {
        var training = new TrainingRequest("linear", "patients", ["age"], "y");
        var request = new CreateSessionRequest("t", "m1", SessionKinds.Training, ["p1", "p2", "p3"], Training: training);
        SessionResponse Served(TrainingRequest tr) => new("acme", "t", "m1", SessionKinds.Training, ["p1", "p2", "p3"], SessionPhases.Running, DateTimeOffset.UnixEpoch, 1,
            Federated: new FederatedStatusResponse(null, tr, new Dictionary<string, MemberKeyRequest>(), new Dictionary<string, string>(), [], [], [], null));
        var signed = ModellerStatements.Session("acme", request);
        Assert.Equal(signed, ModellerStatements.Session(Served(training)));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(training with { Rounds = 21 })));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(training with { Features = ["age", "income"] })));
        Assert.NotEqual(signed, ModellerStatements.Session(Served(training with { LearningRate = 0.2 })));
    }

    [Fact]
    public void Statements_of_different_kinds_never_collide()
    {
        Assert.NotEqual(ModellerStatements.Cancel("acme", "s1", null), ModellerStatements.Cancel("acme", "s1", ""));
        Assert.NotEqual(ModellerStatements.Release("acme", "q", "r", [1]), ModellerStatements.Release("acme", "q", "r", [2]));
        Assert.NotEqual(ModellerStatements.Cancel("acme", "s1", null).AsSpan(0, 40).ToArray(), ModellerStatements.Session("acme", Aggregation()).AsSpan(0, 40).ToArray());
    }
}
