using System.Collections.Concurrent;

namespace PcapDht.Live;

/// <summary>Where one frame sits inside a <see cref="FrameBatch"/>.</summary>
internal struct FrameSlot
{
    public long TimestampNs;
    public int Offset;
    public int Length;
    public int OriginalLength;
}

/// <summary>A pooled slab of copied frames: the capture thread fills it, the decode thread drains it.</summary>
internal sealed class FrameBatch
{
    public readonly byte[] Data;
    public readonly FrameSlot[] Slots;
    public int Count;
    public int Used;
    public long FirstTicks;

    public FrameBatch(int bytes, int slots)
    {
        Data = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        Slots = new FrameSlot[slots];
    }

    public bool TryAdd(long timestampNs, int originalLength, ReadOnlySpan<byte> frame)
    {
        if (Count == Slots.Length || Data.Length - Used < frame.Length) return false;
        frame.CopyTo(Data.AsSpan(Used));
        ref var s = ref Slots[Count++];
        s.TimestampNs = timestampNs;
        s.Offset = Used;
        s.Length = frame.Length;
        s.OriginalLength = originalLength;
        Used += frame.Length;
        return true;
    }

    public void Reset()
    {
        Count = 0;
        Used = 0;
    }
}

/// <summary>
/// A bounded hand-off of <see cref="FrameBatch"/>es: a fixed set of batches circulates between a free pool
/// and a full queue, so memory is capped at construction and the steady state allocates nothing. When the
/// decode thread falls behind, the capture thread waits for a free batch and the kernel ring (libpcap's
/// --buffer-size) absorbs the burst; what it cannot hold is counted by the kernel as ps_drop.
/// </summary>
internal sealed class FrameQueue : IDisposable
{
    public const int BatchBytes = 256 << 10;
    public const int BatchSlots = 4096;

    private readonly BlockingCollection<FrameBatch> _free;
    private readonly BlockingCollection<FrameBatch> _full;

    public FrameQueue(int totalBytes)
    {
        int count = Math.Max(4, totalBytes / BatchBytes);
        _free = new BlockingCollection<FrameBatch>(new ConcurrentQueue<FrameBatch>(), count);
        _full = new BlockingCollection<FrameBatch>(new ConcurrentQueue<FrameBatch>(), count);
        for (int i = 0; i < count; i++) _free.Add(new FrameBatch(BatchBytes, BatchSlots));
        Capacity = count;
    }

    public int Capacity { get; }
    public int Pending => _full.Count;

    /// <summary>A free batch, or null if none came back within the timeout.</summary>
    public FrameBatch? TakeFree(int timeoutMs) => _free.TryTake(out var b, timeoutMs) ? b : null;

    public void Publish(FrameBatch batch) => _full.Add(batch);

    /// <summary>No more batches will be published; the consumer drains what is queued, then sees the end.</summary>
    public void CompleteAdding() => _full.CompleteAdding();

    /// <summary>The next full batch; null once the producer completed and the queue is drained, or on timeout.</summary>
    public FrameBatch? TakeFull(int timeoutMs, out bool completed)
    {
        if (_full.TryTake(out var b, timeoutMs))
        {
            completed = false;
            return b;
        }
        completed = _full.IsCompleted;
        return null;
    }

    public void Return(FrameBatch batch)
    {
        batch.Reset();
        _free.Add(batch);
    }

    public void Dispose()
    {
        _free.Dispose();
        _full.Dispose();
    }
}
