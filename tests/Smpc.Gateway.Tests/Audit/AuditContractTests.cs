using System.Reflection;
using Smpc.Contracts;

namespace Smpc.Gateway.Tests.Audit;

/// <summary>The audit event names have one home (<see cref="AuditEventTypes"/>, shared by the grains that record them and the clients that filter on them), and its list is complete.</summary>
public sealed class AuditContractTests
{
    private static Dictionary<string, string> Constants(Type type) => type.GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string)).ToDictionary(f => f.Name, f => (string)f.GetRawConstantValue()!);

    [Fact]
    public void All_ListsEveryEventType_AndNothingElse()
    {
        var names = Constants(typeof(AuditEventTypes));
        names.Remove(nameof(AuditEventTypes.JsonLines));

        Assert.Equal(names.Values.Order(), AuditEventTypes.All.Order());
        Assert.Equal(AuditEventTypes.All.Count, AuditEventTypes.All.Distinct().Count());
    }
}
