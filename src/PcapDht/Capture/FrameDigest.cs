using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace PcapDht.Capture;

/// <summary>
/// The identity of a capture's content: sha256 over its frames in a canonical form, so the same packets
/// hash the same whether they come as pcap or pcapng, plain, gzip or zstd. Per frame: timestamp in
/// microseconds (int64: what classic pcap holds, so a nanosecond recording and its microsecond
/// conversion by <c>editcap</c> are one capture), link type, original length and captured length
/// (int32 each, little-endian), then the captured bytes; the sequence follows a version prefix, so it
/// never equals the sha256 of a file's bytes (what builds before it stored).
/// <para>
/// Computed in the pass that decodes, from the reader's frames: frames are copied into a staging buffer
/// and hashed 256 KiB at a time (one OpenSSL call per block, not two per frame). Reusable: <see cref="Reset"/>
/// starts the next capture.
/// </para>
/// </summary>
public sealed class FrameDigest : IDisposable
{
    private const int HeaderBytes = 20;
    private static ReadOnlySpan<byte> Prefix => "pcapdht frames v1\n"u8;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _stage = new byte[256 << 10];
    private int _used;

    public FrameDigest() => Reset();

    /// <summary>Frames added since the last reset.</summary>
    public long Frames { get; private set; }

    /// <summary>Forgets everything added: the next frame starts a new capture.</summary>
    public void Reset()
    {
        _hash.GetHashAndReset(); // drops any state a failed capture left
        Prefix.CopyTo(_stage);
        _used = Prefix.Length;
        Frames = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(in Frame frame)
    {
        var data = frame.Data;
        int need = HeaderBytes + data.Length;
        if (_used + need > _stage.Length) Drain();
        var s = _stage.AsSpan(_used);
        BinaryPrimitives.WriteInt64LittleEndian(s, Math.DivRem(frame.TimestampNs, 1000, out long ns) - (ns < 0 ? 1 : 0)); // floor
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], frame.LinkType);
        BinaryPrimitives.WriteInt32LittleEndian(s[12..], frame.OriginalLength);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], data.Length);
        if (need <= s.Length)
        {
            data.CopyTo(s[HeaderBytes..]);
            _used += need;
        }
        else
        {
            // A frame larger than the stage (pcapng allows 256 MiB): header staged, bytes hashed in place.
            _hash.AppendData(_stage, 0, _used + HeaderBytes);
            _hash.AppendData(data);
            _used = 0;
        }
        Frames++;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Drain()
    {
        _hash.AppendData(_stage, 0, _used);
        _used = 0;
    }

    /// <summary>Lowercase hex sha256 of the frames added since the last reset; resets.</summary>
    public string HexDigestAndReset()
    {
        _hash.AppendData(_stage, 0, _used);
        string hex = Convert.ToHexStringLower(_hash.GetHashAndReset());
        Prefix.CopyTo(_stage);
        _used = Prefix.Length;
        Frames = 0;
        return hex;
    }

    public void Dispose() => _hash.Dispose();
}
