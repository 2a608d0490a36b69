namespace Smpc.Protocols.Federated.Training;

/// <summary>The trainers a party knows, by name (exact match); start from <see cref="Trainers.Builtin"/> and add your own.</summary>
public sealed class TrainerRegistry
{
    private readonly Dictionary<string, ILocalTrainer> _trainers = new(StringComparer.Ordinal);

    /// <summary>An empty registry.</summary>
    public TrainerRegistry()
    {
    }

    /// <summary>A registry holding exactly <paramref name="trainers"/>.</summary>
    public TrainerRegistry(IEnumerable<ILocalTrainer> trainers)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        foreach (var trainer in trainers) Add(trainer);
    }

    /// <summary>The registered names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _trainers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Adds a trainer; its name must be new.</summary>
    public TrainerRegistry Add(ILocalTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (string.IsNullOrWhiteSpace(trainer.Name)) throw new ArgumentException("A trainer needs a name.", nameof(trainer));
        if (!_trainers.TryAdd(trainer.Name, trainer)) throw new ArgumentException($"A trainer named '{trainer.Name}' is already registered.", nameof(trainer));
        return this;
    }

    /// <summary>Finds a trainer by name.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ILocalTrainer? trainer) =>
        _trainers.TryGetValue(name ?? string.Empty, out trainer);

    /// <summary>The trainer called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such trainer; the message lists the known ones.</exception>
    public ILocalTrainer Get(string name) =>
        TryGet(name, out var trainer) ? trainer : throw new ArgumentException(UnknownMessage(name), nameof(name));

    /// <summary>The refusal for a trainer this registry does not know: its name and the known ones.</summary>
    public string UnknownMessage(string? name) => $"unknown trainer '{name}' (known: {string.Join(", ", Names)})";
}
