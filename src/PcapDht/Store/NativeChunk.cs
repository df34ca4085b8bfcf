using System.Runtime.CompilerServices;
using DuckDB.NET.Native;

namespace PcapDht.Store;

/// <summary>
/// One DuckDB data chunk (2048 rows of every column of a table) filled by writing straight into the
/// vectors' memory. Measured reason: the per-value appender calls cost 30-500 ns each, while a store
/// into a vector is a memory write; the whole chunk is then handed to DuckDB in one
/// <c>duckdb_append_data_chunk</c> call. Not thread-safe; ownership moves between the filling thread and
/// the writer thread through <see cref="TableAppender"/>'s queues.
/// </summary>
internal sealed unsafe class NativeChunk : IDisposable
{
    private readonly DuckDBDataChunk _chunk;
    private readonly IntPtr[] _vectors;
    private readonly IntPtr[] _data;
    private readonly IntPtr[] _validity;
    private readonly bool[] _nullable;

    public NativeChunk(TableAppender table)
    {
        Table = table;
        _chunk = NativeMethods.DataChunks.DuckDBCreateDataChunk(table.TypeHandles, (ulong)table.TypeHandles.Length);
        Capacity = (int)NativeMethods.Helpers.DuckDBVectorSize();
        int n = table.Layout.Columns.Length;
        _vectors = new IntPtr[n];
        _data = new IntPtr[n];
        _validity = new IntPtr[n];
        _nullable = table.Nullable;
        Bind();
    }

    public TableAppender Table { get; }
    public int Capacity { get; }
    public int Count;
    public bool IsFull => Count == Capacity;
    internal DuckDBDataChunk Handle => _chunk;

    // Leaves in table order: a top-level column, or each child of a STRUCT column in turn.
    private void Bind()
    {
        int leaf = 0;
        for (int i = 0; i < Table.TypeHandles.Length; i++)
        {
            var v = NativeMethods.DataChunks.DuckDBDataChunkGetVector(_chunk, i);
            int children = Table.StructChildren[i];
            if (children == 0) BindLeaf(leaf++, v);
            else
                for (int c = 0; c < children; c++)
                    BindLeaf(leaf++, NativeMethods.Vectors.DuckDBStructVectorGetChild(v, c));
        }
    }

    private void BindLeaf(int leaf, IntPtr v)
    {
        _vectors[leaf] = v;
        if (_nullable[leaf])
        {
            NativeMethods.Vectors.DuckDBVectorEnsureValidityWritable(v);
            _validity[leaf] = (IntPtr)NativeMethods.Vectors.DuckDBVectorGetValidity(v);
        }
        _data[leaf] = (IntPtr)NativeMethods.Vectors.DuckDBVectorGetData(v);
    }

    /// <summary>Empties the chunk after DuckDB copied it (the appender copies on append).</summary>
    public void Reset()
    {
        NativeMethods.DataChunks.DuckDBDataChunkReset(_chunk);
        Count = 0;
        Bind();
    }

    public void SetSize() => NativeMethods.DataChunks.DuckDBDataChunkSetSize(_chunk, (ulong)Count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set<T>(int column, int row, T value) where T : unmanaged => ((T*)_data[column])[row] = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetNull(int column, int row)
    {
        var mask = (ulong*)_validity[column];
        mask[row >> 6] &= ~(1UL << (row & 63));
    }

    public void SetBytes(int column, int row, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
            NativeMethods.Vectors.DuckDBVectorAssignStringElementLength(_vectors[column], (ulong)row, p, bytes.Length);
    }

    public void Dispose()
    {
        _chunk.Dispose(); // the SafeHandle calls duckdb_destroy_data_chunk
    }
}

/// <summary>
/// The leaf columns of one storage table in table order (a STRUCT column contributes its children), as
/// the writer fills them; checked against the table's real types when the appender is created.
/// </summary>
internal sealed class TableLayout
{
    public TableLayout(string table, params (DuckDBType Type, bool Nullable)[] columns)
    {
        Table = table;
        Columns = columns;
    }

    public string Table { get; }
    public (DuckDBType Type, bool Nullable)[] Columns { get; }
}

/// <summary>
/// A native DuckDB appender for one table plus a fixed pool of <see cref="NativeChunk"/>s. The filling
/// thread takes an empty chunk with <see cref="Rent"/>, the writer thread appends it with
/// <see cref="Append"/> and gives it back; the pool size bounds memory whatever the capture size.
/// </summary>
internal sealed class TableAppender : IDisposable
{
    private readonly DuckDBAppender _appender;
    private readonly DuckDBLogicalType[] _types;
    private readonly System.Collections.Concurrent.BlockingCollection<NativeChunk> _free;
    private readonly List<NativeChunk> _all = [];
    private bool _closed;

    public TableAppender(DuckDB.NET.Data.DuckDBConnection connection, TableLayout layout, int poolSize)
    {
        Layout = layout;
        var state = NativeMethods.Appender.DuckDBAppenderCreate(connection.NativeConnection, "pcapdht_store", layout.Table, out _appender);
        if (state != DuckDBState.Success)
            throw new StoreException($"cannot create an appender for pcapdht_store.{layout.Table}: {AppenderError()}");
        // The chunk is built from the table's own types (STRUCT columns included); the layout's leaves must match them.
        int top = (int)NativeMethods.Appender.DuckDBAppenderColumnCount(_appender);
        _types = new DuckDBLogicalType[top];
        TypeHandles = new IntPtr[top];
        StructChildren = new int[top];
        var leaves = new List<DuckDBType>();
        for (int i = 0; i < top; i++)
        {
            _types[i] = NativeMethods.Appender.DuckDBAppenderColumnType(_appender, (ulong)i);
            TypeHandles[i] = _types[i].DangerousGetHandle();
            if (NativeMethods.LogicalType.DuckDBGetTypeId(_types[i]) == DuckDBType.Struct)
            {
                int children = (int)NativeMethods.LogicalType.DuckDBStructTypeChildCount(_types[i]);
                StructChildren[i] = children;
                for (int c = 0; c < children; c++)
                {
                    using var child = NativeMethods.LogicalType.DuckDBStructTypeChildType(_types[i], c);
                    leaves.Add(NativeMethods.LogicalType.DuckDBGetTypeId(child));
                }
            }
            else leaves.Add(NativeMethods.LogicalType.DuckDBGetTypeId(_types[i]));
        }
        if (leaves.Count != layout.Columns.Length)
            throw new StoreException($"pcapdht_store.{layout.Table} has {leaves.Count} columns, this pcapdht writes {layout.Columns.Length}: the database was written by another version");
        Nullable = new bool[leaves.Count];
        for (int i = 0; i < leaves.Count; i++)
        {
            if (leaves[i] != layout.Columns[i].Type)
                throw new StoreException($"pcapdht_store.{layout.Table} column {i} is {leaves[i]}, this pcapdht writes {layout.Columns[i].Type}: the database was written by another version");
            Nullable[i] = layout.Columns[i].Nullable;
        }
        _free = new(poolSize);
        for (int i = 0; i < poolSize; i++)
        {
            var c = new NativeChunk(this);
            _all.Add(c);
            _free.Add(c);
        }
    }

    public TableLayout Layout { get; }
    internal IntPtr[] TypeHandles { get; }
    /// <summary>Per top-level column: its STRUCT child count, 0 for a plain column.</summary>
    internal int[] StructChildren { get; }
    internal bool[] Nullable { get; }

    /// <summary>Blocks while all chunks are queued for the writer: the back-pressure that bounds memory.</summary>
    public NativeChunk Rent() => _free.Take();

    /// <summary>Gives back a chunk that is not appended (the writer failed and is draining).</summary>
    public void Return(NativeChunk chunk) => _free.Add(chunk);

    public void Append(NativeChunk chunk)
    {
        if (chunk.Count > 0)
        {
            chunk.SetSize();
            if (NativeMethods.Appender.DuckDBAppendDataChunk(_appender, chunk.Handle) != DuckDBState.Success)
            {
                string error = AppenderError();
                chunk.Reset();
                _free.Add(chunk);
                throw new StoreException($"writing pcapdht_store.{Layout.Table} failed: {error}");
            }
        }
        chunk.Reset();
        _free.Add(chunk);
        // DuckDB's appender buffers ~100 chunks before it stores them; at close that backlog (5 tables) was
        // stored serially after decoding had finished (0.6 s of a 10 s ingest). Flushing more often moves
        // that work into the time when decoding runs on the other core.
        if (++_sinceFlush == FlushEveryChunks)
        {
            _sinceFlush = 0;
            Flush();
        }
    }

    private const int FlushEveryChunks = 16;
    private int _sinceFlush;

    /// <summary>Flushes what the appender buffered into the connection's current transaction.</summary>
    public void Close()
    {
        if (_closed) return;
        _closed = true;
        if (NativeMethods.Appender.DuckDBAppenderClose(_appender) != DuckDBState.Success)
            throw new StoreException($"writing pcapdht_store.{Layout.Table} failed: {AppenderError()}");
    }

    /// <summary>Writes buffered rows without closing (live capture commits periodically).</summary>
    public void Flush()
    {
        if (NativeMethods.Appender.DuckDBAppenderFlush(_appender) != DuckDBState.Success)
            throw new StoreException($"writing pcapdht_store.{Layout.Table} failed: {AppenderError()}");
    }

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
        foreach (var c in _all) c.Dispose();
        _appender.Dispose();
        foreach (var t in _types) t.Dispose();
        _free.Dispose();
    }
}
