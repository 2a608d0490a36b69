namespace Smpc.Protocols.Federated;

/// <summary>A pod's member key for one session (X25519) with its identity key's signature.</summary>
public sealed record FederatedMemberKey(byte[] PublicKey, byte[] Signature);
