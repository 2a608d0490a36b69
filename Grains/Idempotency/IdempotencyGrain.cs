using Smpc.Grains.Interfaces.Idempotency;
using Smpc.Grains.Storage;

namespace Smpc.Grains.Idempotency;

/// <summary>Stored state of an idempotency key (see <see cref="IIdempotencyGrain"/>): hashes and ciphertext only.</summary>
public sealed class IdempotencyState
{
    /// <summary>HMAC of the first request (method, path, body) under a key derived from the Idempotency-Key.</summary>
    public byte[]? RequestHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>The request running now, if any, and until when its lease holds.</summary>
    public Guid? Lease { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
    /// <summary>The first response, AES-GCM sealed under a key derived from the Idempotency-Key.</summary>
    public byte[]? SealedResponse { get; set; }
}

/// <summary>An idempotency key's record; one activation serialises every gateway's requests with the key.</summary>
[GrainType("idempotency")]
public sealed class IdempotencyGrain(
    [PersistentState("idempotency", SmpcDatabase.GrainStorageName)] IPersistentState<IdempotencyState> state, TimeProvider time) : Grain, IIdempotencyGrain
{
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    async Task<IdempotencyBegin> IIdempotencyGrain.BeginAsync(byte[] requestHash, TimeSpan lease)
    {
        var now = time.GetUtcNow();
        var s = state.State;
        if (s.RequestHash is not null && s.ExpiresAt <= now)
        {
            s = state.State = new IdempotencyState(); // expired: as new
        }

        if (s.RequestHash is not null && !s.RequestHash.AsSpan().SequenceEqual(requestHash)) return new(IdempotencyOutcome.Mismatch);
        if (s.SealedResponse is not null) return new(IdempotencyOutcome.Replay, SealedResponse: s.SealedResponse);
        if (s.Lease is not null && s.LeaseUntil > now) return new(IdempotencyOutcome.InProgress, LeaseUntil: s.LeaseUntil);

        if (s.RequestHash is null)
        {
            s.RequestHash = requestHash;
            s.CreatedAt = now;
            s.ExpiresAt = now + IIdempotencyGrain.Retention;
        }

        s.Lease = Guid.NewGuid();
        s.LeaseUntil = now + lease;
        await state.WriteOrRollbackAsync(this, "idempotency.begin");
        return new(IdempotencyOutcome.Proceed, s.Lease.Value, LeaseUntil: s.LeaseUntil);
    }

    async Task<bool> IIdempotencyGrain.CompleteAsync(Guid lease, byte[] sealedResponse)
    {
        if (state.State.Lease != lease || state.State.SealedResponse is not null) return false;
        state.State.SealedResponse = sealedResponse;
        state.State.Lease = null;
        state.State.LeaseUntil = null;
        await state.WriteOrRollbackAsync(this, "idempotency.complete");
        Wake();
        return true;
    }

    async Task<bool> IIdempotencyGrain.RenewAsync(Guid lease, TimeSpan duration)
    {
        if (state.State.Lease != lease || state.State.SealedResponse is not null) return false;
        state.State.LeaseUntil = time.GetUtcNow() + duration;
        await state.WriteOrRollbackAsync(this, "idempotency.renew");
        return true;
    }

    async Task IIdempotencyGrain.ReleaseAsync(Guid lease)
    {
        if (state.State.Lease != lease) return;
        state.State.Lease = null;
        state.State.LeaseUntil = null;
        await state.WriteOrRollbackAsync(this, "idempotency.release");
        Wake();
    }

    async Task IIdempotencyGrain.WaitAsync(TimeSpan max)
    {
        var until = state.State.LeaseUntil;
        if (state.State.Lease is null || until is null) return;
        var left = until.Value - time.GetUtcNow();
        var wait = left < max ? left : max;
        if (wait <= TimeSpan.Zero) return;
        await Task.WhenAny(_released.Task, Task.Delay(wait));
    }

    private void Wake()
    {
        var waiting = _released;
        _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting.TrySetResult();
    }
}
