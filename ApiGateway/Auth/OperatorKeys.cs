using System.Security.Cryptography;

namespace Smpc.ApiGateway.Auth;

/// <summary>The operator key: <c>smpc_op_{secret}</c>, configured (or generated once in embedded mode) and checked by hash.</summary>
public static class OperatorKeys
{
    public const string Prefix = "smpc_op_";

    /// <summary>A fresh operator key.</summary>
    public static string Generate() =>
        Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Lower-case hex SHA-256 of a key, the form stored in configuration or the data directory.</summary>
    public static string HashHex(string key) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(key)));
}
