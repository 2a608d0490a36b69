namespace Smpc.Protocols;

/// <summary>A party's own input (a value, a bound, a record) is not acceptable; names the field at fault.</summary>
public sealed class InputRejectedException : ProtocolException
{
    /// <summary>Creates the exception for the named field.</summary>
    public InputRejectedException(ProtocolError error, string field, string message)
        : base(error, message) => Field = field;

    /// <summary>Creates the exception for the named field with a stable, machine-readable reason code.</summary>
    public InputRejectedException(ProtocolError error, string field, string message, string reason)
        : this(error, field, message) => Reason = reason;

    /// <summary>The name of the field (or column) whose value or bound was refused.</summary>
    public string Field { get; }

    /// <summary>A stable reason code (e.g. PSI's <c>phone-too-short</c>), or null where the thrower gives none.</summary>
    public string? Reason { get; }
}
