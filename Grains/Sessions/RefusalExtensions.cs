using Smpc.Grains.Interfaces.Errors;
using Smpc.Protocols.Coordination;

namespace Smpc.Grains.Sessions;

/// <summary>A coordinator's refusal as the service's error (and so its problem type).</summary>
internal static class RefusalExtensions
{
    public static SmpcException ToException(this Refusal refusal) => refusal.Kind switch
    {
        RefusalKind.Conflict => SmpcException.Conflict(refusal.Message),
        RefusalKind.WrongPhase => SmpcException.WrongPhase(refusal.Message),
        RefusalKind.UnsupportedVersion => SmpcException.UnsupportedVersion(refusal.Message),
        _ => SmpcException.Invalid(refusal.Message),
    };
}
