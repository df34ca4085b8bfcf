using DuckDB.NET.Native;
using PcapDht.Pipeline;

namespace PcapDht.Store;

/// <summary>
/// A native DuckDB appender for one storage table, fed whole <see cref="NativeChunk"/>s. Checks at creation
/// that the table's columns are exactly the <see cref="TableLayout"/>'s (names and types), so a file written
/// by another version is refused with one line instead of storing misplaced values.
/// </summary>
internal sealed class TableAppender : IDisposable
{
    private const int FlushEveryChunks = 16;
    private readonly DuckDBAppender _appender;
    private bool _closed;
    private int _sinceFlush;

    public TableAppender(DuckDB.NET.Data.DuckDBConnection connection, TableLayout layout)
    {
        Layout = layout;
        var state = NativeMethods.Appender.DuckDBAppenderCreate(connection.NativeConnection, "pcapdht_store", layout.Table, out _appender);
        if (state != DuckDBState.Success)
            throw new StoreException($"cannot create an appender for pcapdht_store.{layout.Table}: {AppenderError()}");
        try
        {
            CheckLayout();
        }
        catch
        {
            _appender.Dispose();
            throw;
        }
    }

    public TableLayout Layout { get; }

    private void CheckLayout()
    {
        int top = (int)NativeMethods.Appender.DuckDBAppenderColumnCount(_appender);
        var leaves = new List<(string? Name, DuckDBType Type)>();
        for (int i = 0; i < top; i++)
        {
            using var type = NativeMethods.Appender.DuckDBAppenderColumnType(_appender, (ulong)i);
            string parent = i < Layout.Columns.Length ? Layout.Columns[i].Name : "?";
            if (NativeMethods.LogicalType.DuckDBGetTypeId(type) == DuckDBType.Struct)
            {
                int children = (int)NativeMethods.LogicalType.DuckDBStructTypeChildCount(type);
                for (int c = 0; c < children; c++)
                {
                    using var child = NativeMethods.LogicalType.DuckDBStructTypeChildType(type, c);
                    leaves.Add((parent + "." + NativeMethods.LogicalType.DuckDBStructTypeChildName(type, c), NativeMethods.LogicalType.DuckDBGetTypeId(child)));
                }
            }
            else leaves.Add((null, NativeMethods.LogicalType.DuckDBGetTypeId(type)));
        }
        if (leaves.Count != Layout.Leaves.Length)
            throw new StoreException($"pcapdht_store.{Layout.Table} has {leaves.Count} columns, this pcapdht writes {Layout.Leaves.Length}: the database was written by another version");
        for (int i = 0; i < leaves.Count; i++)
        {
            var want = Layout.Leaves[i];
            if (leaves[i].Type != want.Type || (leaves[i].Name != null && leaves[i].Name != want.Name))
                throw new StoreException($"pcapdht_store.{Layout.Table} column {leaves[i].Name ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture)} is {leaves[i].Type}, this pcapdht writes {want.Name} {want.Type}: the database was written by another version");
        }
    }

    /// <summary>Appends the chunk's rows (DuckDB copies them); the caller releases the chunk.</summary>
    public void Append(NativeChunk chunk)
    {
        if (chunk.Count == 0) return;
        chunk.SetSize();
        if (NativeMethods.Appender.DuckDBAppendDataChunk(_appender, chunk.Handle) != DuckDBState.Success)
            throw new StoreException($"writing pcapdht_store.{Layout.Table} failed: {AppenderError()}");
        // DuckDB's appender buffers ~100 chunks before it stores them; at close that backlog (5 tables) was
        // stored serially after decoding had finished (0.6 s of a 10 s ingest). Flushing more often moves
        // that work into the time when decoding runs on the other core.
        if (++_sinceFlush == FlushEveryChunks)
        {
            _sinceFlush = 0;
            Flush();
        }
    }

    /// <summary>Writes buffered rows into the connection's current transaction (before a commit, or a DELETE that must see them).</summary>
    public void Flush()
    {
        if (NativeMethods.Appender.DuckDBAppenderFlush(_appender) != DuckDBState.Success)
            throw new StoreException($"writing pcapdht_store.{Layout.Table} failed: {AppenderError()}");
    }

    /// <summary>Flushes and closes (the appender is not used again).</summary>
    public void Close()
    {
        if (_closed) return;
        _closed = true;
        if (NativeMethods.Appender.DuckDBAppenderClose(_appender) != DuckDBState.Success)
            throw new StoreException($"writing pcapdht_store.{Layout.Table} failed: {AppenderError()}");
    }

    /// <summary>Discards rows appended but not yet flushed (after a rollback they would land in the next transaction).</summary>
    public void Clear() => NativeMethods.Appender.DuckDBAppenderClear(_appender);

    private string AppenderError()
    {
        using var e = NativeMethods.Appender.DuckDBAppenderErrorData(_appender);
        return e.HasError ? (e.Message ?? "").ReplaceLineEndings(" ") : "unknown DuckDB appender error";
    }

    public void Dispose()
    {
        // Destroying an appender flushes what it buffered: after a rollback that would land in an
        // auto-commit transaction, so unflushed rows are discarded first.
        if (!_closed) NativeMethods.Appender.DuckDBAppenderClear(_appender);
        _appender.Dispose();
    }
}
