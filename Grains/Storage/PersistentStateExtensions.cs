using Smpc.Grains.Interfaces.Diagnostics;
using Smpc.Grains.Interfaces.Errors;

namespace Smpc.Grains.Storage;

/// <summary>Writes grain state so that a failed write leaves neither an unsaved change in memory nor a non-serializable exception for the caller.</summary>
internal static class PersistentStateExtensions
{
    /// <summary>
    /// Writes the state. On failure it reloads the stored state (so the unsaved change is dropped) or, if even that fails,
    /// deactivates the grain so the next call starts from storage; then throws <see cref="SmpcErrorCode.StorageUnavailable"/>.
    /// </summary>
    public static async Task WriteOrRollbackAsync<T>(this IPersistentState<T> state, IGrainBase grain, string operation)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            SmpcTelemetry.StorageFailures.Add(1, new KeyValuePair<string, object?>(SmpcTelemetry.OperationTag, operation));
            try
            {
                await state.ReadStateAsync();
            }
            catch (Exception)
            {
                grain.GrainContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError, "state write failed and could not be reloaded"));
            }

            throw SmpcException.StorageUnavailable(operation, ex);
        }
    }
}
