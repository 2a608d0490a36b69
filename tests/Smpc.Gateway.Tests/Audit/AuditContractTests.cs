using System.Reflection;
using Smpc.Contracts;
using Smpc.Grains.Interfaces.Audit;

namespace Smpc.Gateway.Tests.Audit;

/// <summary>The client's event type names are the ones the grains record (the strings cross the API unchanged).</summary>
public sealed class AuditContractTests
{
    private static Dictionary<string, string> Constants(Type type) => type.GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string)).ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);

    [Fact]
    public void ClientEventTypes_MatchTheGrainsEventTypes()
    {
        var client = Constants(typeof(AuditEventTypes));
        client.Remove(nameof(AuditEventTypes.JsonLines));

        Assert.Equal(Constants(typeof(AuditEventType)).OrderBy(p => p.Key), client.OrderBy(p => p.Key));
        Assert.Equal(AuditEventType.All.Order(), client.Values.Order());
    }
}
