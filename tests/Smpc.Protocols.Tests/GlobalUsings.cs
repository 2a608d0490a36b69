global using Smpc.Protocols.Randomness;
