namespace Smpc.Contracts;

/// <summary>The wire names of session kinds and phases.</summary>
public static class SessionKinds
{
    public const string SecureAggregation = "secure-aggregation";
    public const string Psi = "psi";
    public const string Query = "query";
    public const string Training = "training";
}
