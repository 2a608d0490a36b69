namespace Smpc.Grains.Interfaces.Payloads;

/// <summary>
/// The daily limits of the payload's tenant that an upload's chunks count against (the gateway reads them: the operator's
/// per-tenant limits or its defaults), and the length the client declared for the whole upload (0 when unknown), so a
/// declared length that cannot fit is refused at the first chunk.
/// </summary>
[GenerateSerializer, Immutable, Alias("smpc.upload-quota")]
public sealed record UploadQuota(
    [property: Id(0)] long PayloadBytesPerDay,
    [property: Id(1)] long PsiElementsPerDay,
    [property: Id(2)] long DeclaredBytes = 0);
