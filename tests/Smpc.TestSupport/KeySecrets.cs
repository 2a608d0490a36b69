namespace Smpc.TestSupport;

/// <summary>The secret part of an issued key, for tests that check it is never logged or stored.</summary>
public static class KeySecrets
{
    /// <summary>
    /// The part after <c>smpc_{keyId}_</c> (or <c>smpc_op_</c>). The secret is base64url and may itself contain '_', so
    /// splitting at the last '_' could leave a one-character tail that turns up anywhere by chance.
    /// </summary>
    public static string Of(string key)
    {
        var second = key.IndexOf('_', key.IndexOf('_', StringComparison.Ordinal) + 1);
        return second < 0 ? throw new FormatException("Not an smpc key.") : key[(second + 1)..];
    }
}
