using System.Data.Common;
using Orleans.Storage;
using Smpc.Grains.Interfaces.Errors;
using Smpc.Grains.Storage;

namespace Smpc.Silo.Hosting;

/// <summary>
/// Storage provider exceptions (e.g. PostgresException) cannot be serialized to callers, who would see a CodecNotFoundException;
/// this filter turns them into a serializable storage-unavailable error.
/// </summary>
internal sealed class StorageExceptionFilter(SmpcDatabase database) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (IsStorageFailure(ex))
        {
            database.ResetAfterFailure(ex);
            throw SmpcException.StorageUnavailable(context.InterfaceMethod?.Name ?? "grain call", ex);
        }
    }

    private static bool IsStorageFailure(Exception ex) => ex switch
    {
        SmpcException => false,
        DbException or InconsistentStateException => true,
        { InnerException: { } inner } => IsStorageFailure(inner),
        _ => false,
    };
}
