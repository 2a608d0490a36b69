namespace Smpc.Protocols.Federated.Training;

/// <summary>The built-in trainers: <c>linear</c> and <c>logistic</c>.</summary>
public static class Trainers
{
    /// <summary>A new registry holding the built-in trainers (a fresh one on each access, so adding to it changes no one else's).</summary>
    public static TrainerRegistry Builtin => new([LinearRegressionTrainer.Instance, LogisticRegressionTrainer.Instance]);

    // Read-only use only: never handed out.
    internal static TrainerRegistry Registry { get; } = Builtin;

    /// <summary>The built-in trainer called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No built-in trainer has that name; the message lists them.</exception>
    public static ILocalTrainer Get(string name) => Registry.Get(name);
}
