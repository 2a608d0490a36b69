namespace Smpc.Grains.Interfaces.Errors;

/// <summary>A domain error raised by a grain; serializable so callers on other silos and gateways see the code and message.</summary>
[GenerateSerializer, Alias("smpc.error")]
public sealed class SmpcException : Exception
{
    /// <summary>The stable error kind.</summary>
    [Id(0)] public SmpcErrorCode Code { get; }

    public SmpcException(SmpcErrorCode code, string message) : base(message) => Code = code;

    public SmpcException(SmpcErrorCode code, string message, Exception? inner) : base(message, inner) => Code = code;

    public static SmpcException NotFound(string what) => new(SmpcErrorCode.NotFound, $"{what} was not found.");

    public static SmpcException Conflict(string message) => new(SmpcErrorCode.Conflict, message);

    public static SmpcException Invalid(string message) => new(SmpcErrorCode.Validation, message);

    public static SmpcException WrongPhase(string message) => new(SmpcErrorCode.WrongPhase, message);

    /// <summary>The request speaks an unsupported protocol version.</summary>
    public static SmpcException UnsupportedVersion(string message) => new(SmpcErrorCode.UnsupportedVersion, message);

    public static SmpcException Forbidden(string message) => new(SmpcErrorCode.Forbidden, message);

    /// <summary>Wraps a storage failure without carrying the (non-serializable) provider exception across the wire.</summary>
    public static SmpcException StorageUnavailable(string operation, Exception cause) =>
        new(SmpcErrorCode.StorageUnavailable, $"Storage is unavailable ({operation}): {cause.GetType().Name}: {cause.Message}");
}
