namespace Smpc.Protocols;

/// <summary>A party's own input (a value, a bound, a record) is not acceptable; names the field at fault.</summary>
public sealed class InputRejectedException : ProtocolException
{
    /// <summary>Creates the exception for the named field.</summary>
    public InputRejectedException(ProtocolError error, string field, string message)
        : base(error, message) => Field = field;

    /// <summary>The name of the field (or column) whose value or bound was refused.</summary>
    public string Field { get; }
}
