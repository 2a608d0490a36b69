namespace Smpc.Grains.Interfaces.Sessions;

/// <summary>Wire names of the PSI protocols.</summary>
public static class PsiProtocols
{
    public const string Ecdh = "ecdh";
    public const string RsaBlind = "rsa-blind";
    public const string Kkrt = "kkrt";
}

/// <summary>Wire names of the PSI modes.</summary>
public static class PsiModes
{
    public const string Intersection = "intersection";
    public const string Cardinality = "cardinality";
}
