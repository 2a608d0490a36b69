namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>The sets a PSI session relays (their bytes live in the service's payload store).</summary>
public enum PsiSet
{
    /// <summary>The pod's encoded (ECDH: blinded) set, from the pod to the modeller.</summary>
    PodSet = 1,
    /// <summary>The modeller's blinded records, to the pod.</summary>
    Query = 2,
    /// <summary>The pod's answer to the query, to the modeller.</summary>
    Reply = 3,
    /// <summary>Pod-counted cardinality: the pod's set blinded again by the modeller, to the pod.</summary>
    DoubleBlinded = 4,
}
