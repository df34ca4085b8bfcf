using System.Runtime.CompilerServices;
using DuckDB.NET.Native;

namespace PcapDht.Pipeline;

/// <summary>
/// One DuckDB data chunk (2048 rows of every column of a table) filled by writing straight into the
/// vectors' memory. Measured reason: the per-value appender calls cost 30-500 ns each, while a store
/// into a vector is a memory write; the whole chunk is then handed to DuckDB in one
/// <c>duckdb_append_data_chunk</c> call. Built from a <see cref="TableLayout"/> alone (no connection).
/// Not thread-safe; ownership moves from the encoder to the store's writer thread and back to its
/// <see cref="ChunkPool"/>.
/// </summary>
internal sealed unsafe class NativeChunk : IDisposable
{
    private readonly DuckDBDataChunk _chunk;
    private readonly IntPtr[] _vectors;
    private readonly IntPtr[] _data;
    private readonly IntPtr[] _validity;

    public NativeChunk(ChunkPool pool)
    {
        Pool = pool;
        Layout = pool.Layout;
        _chunk = NativeMethods.DataChunks.DuckDBCreateDataChunk(Layout.TypeHandles, (ulong)Layout.TypeHandles.Length);
        Capacity = VectorSize;
        int n = Layout.Leaves.Length;
        _vectors = new IntPtr[n];
        _data = new IntPtr[n];
        _validity = new IntPtr[n];
        Bind();
    }

    public ChunkPool Pool { get; }
    public TableLayout Layout { get; }
    public int Capacity { get; }

    /// <summary>DuckDB's vector size: the rows of one data chunk (2048 in its releases).</summary>
    internal static readonly int VectorSize = (int)NativeMethods.Helpers.DuckDBVectorSize();
    public int Count;
    public bool IsFull => Count == Capacity;
    internal DuckDBDataChunk Handle => _chunk;

    // Leaves in table order: a top-level column, or each child of a STRUCT column in turn.
    private void Bind()
    {
        int leaf = 0;
        for (int i = 0; i < Layout.TypeHandles.Length; i++)
        {
            var v = NativeMethods.DataChunks.DuckDBDataChunkGetVector(_chunk, i);
            int children = Layout.StructChildren[i];
            if (children == 0) BindLeaf(leaf++, v);
            else
                for (int c = 0; c < children; c++)
                    BindLeaf(leaf++, NativeMethods.Vectors.DuckDBStructVectorGetChild(v, c));
        }
    }

    private void BindLeaf(int leaf, IntPtr v)
    {
        _vectors[leaf] = v;
        if (Layout.Leaves[leaf].Nullable)
        {
            NativeMethods.Vectors.DuckDBVectorEnsureValidityWritable(v);
            _validity[leaf] = (IntPtr)NativeMethods.Vectors.DuckDBVectorGetValidity(v);
        }
        _data[leaf] = (IntPtr)NativeMethods.Vectors.DuckDBVectorGetData(v);
    }

    /// <summary>Empties the chunk (after DuckDB copied it: the appender copies on append, or to drop its rows).</summary>
    public void Reset()
    {
        NativeMethods.DataChunks.DuckDBDataChunkReset(_chunk);
        Count = 0;
        Bind();
    }

    /// <summary>Keeps the first <paramref name="count"/> rows; the rows after them will be written again.</summary>
    public void Truncate(int count)
    {
        if (count >= Count) return;
        if (count == 0)
        {
            Reset();
            return;
        }
        // SetNull cleared validity bits that the next rows written there must not inherit.
        for (int leaf = 0; leaf < _validity.Length; leaf++)
        {
            if (_validity[leaf] == 0) continue;
            var mask = (ulong*)_validity[leaf];
            for (int row = count; row < Count; row++) mask[row >> 6] |= 1UL << (row & 63);
        }
        Count = count;
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

    /// <summary>Whether the nullable leaf's value at <paramref name="row"/> is NULL (what <see cref="SetNull"/> wrote).</summary>
    public bool IsNull(int column, int row) => _validity[column] != 0 && (((ulong*)_validity[column])[row >> 6] >> (row & 63) & 1) == 0;

    /// <summary>The fixed-width leaf's values from <paramref name="row"/> on, for writers that fill a column of several rows at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* Column<T>(int column, int row) where T : unmanaged => (T*)_data[column] + row;

    /// <summary>The value of a fixed-width leaf (tests and the capture-id rewrite read rows back).</summary>
    public T Get<T>(int column, int row) where T : unmanaged => ((T*)_data[column])[row];

    public void SetBytes(int column, int row, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
            NativeMethods.Vectors.DuckDBVectorAssignStringElementLength(_vectors[column], (ulong)row, p, bytes.Length);
    }

    /// <summary>Back to its pool, empty.</summary>
    public void Release()
    {
        Reset();
        Pool.Return(this);
    }

    public void Dispose()
    {
        _chunk.Dispose(); // the SafeHandle calls duckdb_destroy_data_chunk
    }
}

/// <summary>
/// The chunks of one table: the encoder rents an empty one, the store appends it and gives it back.
/// With a <see cref="Limit"/> (file ingest) renting blocks while every chunk is queued for the store: the
/// back-pressure that bounds memory whatever the capture size. Without one (live capture, whose spool the
/// session bounds in bytes) the pool grows to the largest spool and then reuses its chunks.
/// </summary>
internal sealed class ChunkPool : IDisposable
{
    private readonly Stack<NativeChunk> _free = new();
    private readonly List<NativeChunk> _all = [];
    private readonly object _lock = new();
    private bool _disposed;

    public ChunkPool(TableLayout layout, int limit = int.MaxValue)
    {
        Layout = layout;
        Limit = limit;
    }

    public TableLayout Layout { get; }
    public int Limit { get; }

    /// <summary>Bytes of a full chunk's fixed-width columns (the spool limit counts these).</summary>
    public long ChunkBytes => (long)Layout.RowBytes * NativeChunk.VectorSize;

    public NativeChunk Rent()
    {
        lock (_lock)
        {
            while (true)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_free.TryPop(out var c)) return c;
                if (_all.Count < Limit)
                {
                    c = new NativeChunk(this);
                    _all.Add(c);
                    return c;
                }
                Monitor.Wait(_lock);
            }
        }
    }

    public void Return(NativeChunk chunk)
    {
        lock (_lock)
        {
            _free.Push(chunk);
            Monitor.Pulse(_lock);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var c in _all) c.Dispose();
            Monitor.PulseAll(_lock);
        }
    }
}
