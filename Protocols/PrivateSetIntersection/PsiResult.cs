namespace Smpc.Protocols.PrivateSetIntersection;

/// <summary>The client's PSI output: the intersection size and, in intersection mode, which of its records matched.</summary>
/// <param name="Count">Number of client records found in the server's set.</param>
/// <param name="MatchedIndices">Indices into the client's record list (intersection mode); null in cardinality mode.</param>
public sealed record PsiResult(int Count, IReadOnlyList<int>? MatchedIndices);
