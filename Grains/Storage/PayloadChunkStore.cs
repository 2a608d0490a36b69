using System.Data;

namespace Smpc.Grains.Storage;

/// <summary>Payload chunks in the table <c>smpc_payload_chunk</c>, beside (not inside) grain state.</summary>
public sealed class PayloadChunkStore(SmpcDatabase database)
{
    /// <summary>The largest chunk accepted.</summary>
    public const int MaxChunkBytes = 4 * 1024 * 1024;

    /// <summary>Stores a chunk; writing the same chunk again replaces it (idempotent retry).</summary>
    public async Task WriteAsync(string payloadKey, Guid uploadId, int index, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO smpc_payload_chunk (service_id, payload_key, upload_id, chunk_index, data)
            VALUES (@service, @payload, @upload, @index, @data)
            ON CONFLICT (service_id, payload_key, upload_id, chunk_index) DO UPDATE SET data = excluded.data
            """;
        AddKey(command, payloadKey, uploadId);
        SmpcDatabase.AddParameter(command, "index", index);
        SmpcDatabase.AddParameter(command, "data", data.ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Reads a chunk of known length, or null when it is absent.</summary>
    public async Task<byte[]?> ReadAsync(string payloadKey, Guid uploadId, int index, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT data FROM smpc_payload_chunk
            WHERE service_id = @service AND payload_key = @payload AND upload_id = @upload AND chunk_index = @index
            """;
        AddKey(command, payloadKey, uploadId);
        SmpcDatabase.AddParameter(command, "index", index);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess | CommandBehavior.SingleRow, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return await reader.GetFieldValueAsync<byte[]>(0, cancellationToken);
    }

    /// <summary>Deletes the chunks of one upload (abandoned, or a duplicate of what is committed).</summary>
    public async Task<int> DeleteUploadAsync(string payloadKey, Guid uploadId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM smpc_payload_chunk
            WHERE service_id = @service AND payload_key = @payload AND upload_id = @upload
            """;
        AddKey(command, payloadKey, uploadId);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private void AddKey(System.Data.Common.DbCommand command, string payloadKey, Guid uploadId)
    {
        SmpcDatabase.AddParameter(command, "service", database.ServiceId);
        SmpcDatabase.AddParameter(command, "payload", payloadKey);
        // PostgreSQL stores uuid natively; SQLite stores the canonical text form.
        SmpcDatabase.AddParameter(command, "upload", database.Provider == DatabaseProvider.PostgreSql ? uploadId : uploadId.ToString("D"));
    }
}
