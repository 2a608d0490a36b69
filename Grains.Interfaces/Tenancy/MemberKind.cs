namespace Smpc.Grains.Interfaces.Tenancy;

/// <summary>The two kinds of tenant member.</summary>
public enum MemberKind
{
    /// <summary>A data owner running the pod agent.</summary>
    Pod = 1,
    /// <summary>A data scientist who asks for aggregates or intersections.</summary>
    Modeller = 2,
}
