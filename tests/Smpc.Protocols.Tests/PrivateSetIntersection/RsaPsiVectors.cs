using System.Security.Cryptography;
using System.Text.Json;
using Smpc.Protocols.PrivateSetIntersection;

namespace Smpc.Protocols.Tests.PrivateSetIntersection;

/// <summary>docs/protocols/vectors/rsa-psi.json, written by an independent Python implementation (generate_rsa_psi.py): fixed keys, H1/H2 and a certification proof.</summary>
internal static class RsaPsiVectors
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "PrivateSetIntersection", "rsa-psi.json"))));

    public static JsonElement Root => Document.Value.RootElement;

    public static JsonElement KeyJson(string name) => Root.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("name").GetString() == name);

    public static byte[] Field(JsonElement element, string name) => Convert.FromHexString(element.GetProperty(name).GetString()!);

    /// <summary>A cached private key (no key generation in tests): "kat-2048" or "kat-3072".</summary>
    public static RSAParameters PrivateKey(string name)
    {
        var k = KeyJson(name);
        return new RSAParameters
        {
            Modulus = Field(k, "n"), Exponent = Field(k, "e"), D = Field(k, "d"), P = Field(k, "p"), Q = Field(k, "q"),
            DP = Field(k, "dp"), DQ = Field(k, "dq"), InverseQ = Field(k, "qinv"),
        };
    }

    public static RsaPsiPublicKey PublicKey(string name)
    {
        var k = KeyJson(name);
        return new RsaPsiPublicKey(Field(k, "n"), Field(k, "e"));
    }
}
