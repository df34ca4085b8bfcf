using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace PcapDht.Capture;

/// <summary>
/// Forward-only reader of pcap and pcapng captures, plain or gzip/zstd-compressed, from a file,
/// standard input or any stream. The format is detected from magic bytes, never from the name.
/// Reads in large blocks (1 MiB) into one reused buffer; <see cref="Frame.Data"/> is a slice of it.
/// Damage (truncation, impossible lengths, broken compression) ends the read with
/// <see cref="Damage"/> set; it never throws from <see cref="TryRead"/>.
/// </summary>
public sealed class CaptureReader : IDisposable
{
    /// <summary>Initial buffer; large enough that one read(2) serves thousands of DHT frames.</summary>
    internal const int BufferSize = 1 << 20;

    /// <summary>
    /// No record or block may claim more than this. A corrupt length field must end the read as damage,
    /// not allocate gigabytes (Wireshark's own limit for pcapng blocks is 128 MiB after option headroom).
    /// </summary>
    public const int MaxRecordBytes = 256 << 20;

    private const uint PcapNgSectionHeader = 0x0A0D0D0A;
    private const uint PcapNgInterface = 1;
    private const uint PcapNgObsoletePacket = 2;
    private const uint PcapNgSimplePacket = 3;
    private const uint PcapNgEnhancedPacket = 6;
    private const uint ByteOrderMagic = 0x1A2B3C4D;

    private readonly CountingStream _raw;
    private readonly Stream _data;
    private byte[] _buf;
    private int _pos;
    private int _end;
    private long _bufBase;
    private bool _eof;
    private string? _readError;
    private bool _done;
    private long _frameNumber;

    private bool _bigEndian;
    // classic pcap
    private int _recordHeader;
    private int _pcapLinkType;
    private long _fractionToNs;
    // pcapng: interfaces of the current section
    private Interface[] _interfaces = new Interface[4];
    private int _interfaceCount;
    private bool _sawSection;

    private CaptureReader(Stream stream, string name, long? length, byte[]? buffer = null, int initialBuffer = BufferSize)
    {
        // A caller reading many files lends one buffer for all: a fresh 1 MiB array per file is a large-object
        // allocation, and on the 100-file benchmark each one triggered a full (gen2) collection.
        _buf = buffer is { Length: >= BufferSize } ? buffer : new byte[initialBuffer];
        Name = name;
        Length = length;
        _raw = new CountingStream(stream);
        Span<byte> head = stackalloc byte[4];
        int got = ReadUpTo(_raw, head);
        _raw.Unread(head[..got]);
        Compression = DetectCompression(head[..got]);
        _data = Compression switch
        {
            CaptureCompression.Gzip => GzipMembersStream.TryCreate(_raw) ?? new GZipStream(_raw, CompressionMode.Decompress),
            CaptureCompression.Zstd => new ZstdSharp.DecompressionStream(_raw),
            _ => _raw,
        };
        ReadFileHeader();
    }

    /// <summary>Opens a file, or standard input when <paramref name="path"/> is "-".</summary>
    /// <param name="path">The file, or "-".</param>
    /// <param name="cancellation">Becomes <see cref="Cancellation"/>; for standard input it also ends a wait for data.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="CaptureFormatException">Not a pcap/pcapng (or compressed) capture.</exception>
    public static CaptureReader Open(string path, CancellationToken cancellation = default)
    {
        if (path == "-") return new CaptureReader(new StandardInputStream(cancellation), "-", null) { Cancellation = cancellation };
        // Unbuffered: the reader's own 1 MiB buffer is the only copy between page cache and parser.
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        try
        {
            return new CaptureReader(file, path, file.Length) { Cancellation = cancellation };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads from <paramref name="stream"/> (disposed with the reader); <paramref name="name"/> is used in messages.</summary>
    public static CaptureReader Open(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long? length = null;
        if (stream.CanSeek)
        {
            try { length = stream.Length - stream.Position; } catch (NotSupportedException) { }
        }
        return new CaptureReader(stream, name, length);
    }

    /// <summary>
    /// Reads from a stream whose stored size is known although it may not seek, into <paramref name="buffer"/>
    /// (at least <see cref="BufferSize"/> bytes; the caller must not use it until the reader is disposed).
    /// </summary>
    internal static CaptureReader Open(Stream stream, string name, long? length, byte[]? buffer)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new CaptureReader(stream, name, length, buffer);
    }

    /// <summary>Reads from a stream whose stored size is known although it cannot seek (a hashing wrapper around a file).</summary>
    internal static CaptureReader Open(Stream stream, string name, long? length, int initialBuffer = BufferSize)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new CaptureReader(stream, name, length, null, initialBuffer);
    }

    /// <summary>
    /// Checked on every read from the input (at most every 1 MiB of it, and while a pipe is idle when the input
    /// is <see cref="StandardInputStream"/>): a cancelled token makes <see cref="TryRead"/> throw
    /// <see cref="OperationCanceledException"/> even when the input holds no frames at all (a pcapng stream of
    /// nothing but non-packet blocks).
    /// </summary>
    public CancellationToken Cancellation
    {
        get => _raw.Cancellation;
        set => _raw.Cancellation = value;
    }

    public string Name { get; }
    public CaptureFormat Format { get; private set; }
    public CaptureCompression Compression { get; }
    /// <summary>True when the (current section of the) file is big-endian.</summary>
    public bool IsBigEndian => _bigEndian;

    /// <summary>Bytes consumed from the input as stored (compressed bytes for .gz/.zst), for progress.</summary>
    public long BytesRead => _raw.BytesRead;

    /// <summary>Size of the input as stored, when known (not for pipes).</summary>
    public long? Length { get; }

    /// <summary>Null while reading and after a clean end; set when the file is damaged.</summary>
    public CaptureDamage? Damage { get; private set; }

    /// <summary>Frames delivered so far.</summary>
    public long FramesRead => _frameNumber;

    /// <summary>Offset in the uncompressed capture data of the next record.</summary>
    public long Position => _bufBase + _pos;

    /// <summary>
    /// Next frame; false at the end of the file or at damage (then <see cref="Damage"/> says where).
    /// The frame's data is valid until the next call.
    /// </summary>
    public bool TryRead(out Frame frame)
    {
        if (_done)
        {
            frame = default;
            return false;
        }
        return Format == CaptureFormat.PcapNg ? TryReadPcapNg(out frame) : TryReadPcap(out frame);
    }

    public void Dispose()
    {
        _done = true;
        _data.Dispose();
        _raw.Dispose();
    }

    // ---- classic pcap ------------------------------------------------------------------------

    private bool TryReadPcap(out Frame frame)
    {
        int header = _recordHeader;
        if (!Ensure(header))
        {
            frame = default;
            int have = _end - _pos;
            if (have == 0) return _readError == null ? End() : FailInput();
            return Fail($"truncated record header ({have} of {header} bytes)");
        }
        var h = _buf.AsSpan(_pos, header);
        uint sec = U32(h);
        uint fraction = U32(h[4..]);
        uint capLen = U32(h[8..]);
        uint origLen = U32(h[12..]);
        if (capLen > MaxRecordBytes)
        {
            frame = default;
            return Fail($"record claims {capLen} captured bytes (limit {MaxRecordBytes})");
        }
        int total = header + (int)capLen;
        if (!Ensure(total))
        {
            frame = default;
            return Fail($"truncated record ({_end - _pos - header} of {capLen} bytes)");
        }
        long ts = sec * 1_000_000_000L + fraction * _fractionToNs;
        frame = new Frame(++_frameNumber, ts, _pcapLinkType, (int)Math.Min(origLen, int.MaxValue),
            new ReadOnlySpan<byte>(_buf, _pos + header, (int)capLen));
        _pos += total;
        return true;
    }

    // ---- pcapng -----------------------------------------------------------------------------

    private bool TryReadPcapNg(out Frame frame)
    {
        while (true)
        {
            if (!Ensure(12))
            {
                frame = default;
                int have = _end - _pos;
                if (have == 0) return _readError == null ? End() : FailInput();
                return Fail($"truncated block header ({have} of 12 bytes)");
            }
            var head = _buf.AsSpan(_pos, 12);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(head);
            if (type == PcapNgSectionHeader)
            {
                // Each section carries its own byte order (pcapng §4.1); the type is a palindrome.
                uint bom = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
                if (bom == ByteOrderMagic) _bigEndian = false;
                else if (bom == BinaryPrimitives.ReverseEndianness(ByteOrderMagic)) _bigEndian = true;
                else
                {
                    frame = default;
                    return Fail($"section header with bad byte-order magic 0x{bom:x8}");
                }
            }
            else if (!_sawSection)
            {
                frame = default;
                return Fail("pcapng block before the first section header");
            }
            else
            {
                type = U32(head);
            }
            uint length = U32(head[4..]);
            if (length < 12 || (length & 3) != 0 || length > MaxRecordBytes)
            {
                frame = default;
                return Fail($"block type 0x{type:x} has invalid length {length}");
            }
            int len = (int)length;
            if (!Ensure(len))
            {
                frame = default;
                return Fail($"truncated block type 0x{type:x} ({_end - _pos} of {len} bytes)");
            }
            var block = new ReadOnlySpan<byte>(_buf, _pos, len);
            if (U32(block[(len - 4)..]) != length)
            {
                frame = default;
                return Fail($"block type 0x{type:x} trailing length {U32(block[(len - 4)..])} differs from {length}");
            }
            var body = block[8..(len - 4)];
            switch (type)
            {
                case PcapNgEnhancedPacket:
                    if (!ReadEnhanced(body, out frame)) return false;
                    _pos += len;
                    return true;
                case PcapNgSimplePacket:
                    if (!ReadSimple(body, out frame)) return false;
                    _pos += len;
                    return true;
                case PcapNgObsoletePacket:
                    if (!ReadObsolete(body, out frame)) return false;
                    _pos += len;
                    return true;
                case PcapNgSectionHeader:
                    if (!ReadSection(body))
                    {
                        frame = default;
                        return false;
                    }
                    break;
                case PcapNgInterface:
                    if (!ReadInterface(body))
                    {
                        frame = default;
                        return false;
                    }
                    break;
                    // Name resolution, statistics, custom, decryption secrets and unknown blocks: not needed.
            }
            _pos += len;
        }
    }

    private bool ReadSection(ReadOnlySpan<byte> body)
    {
        if (body.Length < 16) return Fail("section header block too short");
        ushort major = U16(body[4..]);
        if (major != 1) return Fail($"unsupported pcapng version {major}.{U16(body[6..])}");
        _interfaceCount = 0;
        _sawSection = true;
        return true;
    }

    private bool ReadInterface(ReadOnlySpan<byte> body)
    {
        if (body.Length < 8) return Fail("interface description block too short");
        var iface = new Interface
        {
            LinkType = U16(body),
            SnapLength = U32(body[4..]),
            Multiplier = 1000, // default if_tsresol 6: microseconds
            Divisor = 1,
            Resolution = 6,
        };
        var options = body[8..];
        while (options.Length >= 4)
        {
            int code = U16(options);
            int olen = U16(options[2..]);
            if (code == 0 || 4 + olen > options.Length) break;
            var value = options.Slice(4, olen);
            if (code == 9 && olen >= 1) SetResolution(ref iface, value[0]);
            else if (code == 14 && olen >= 8) iface.OffsetSeconds = (long)U64(value); // signed (pcapng §4.2)
            options = options[Math.Min(options.Length, 4 + ((olen + 3) & ~3))..];
        }
        if (_interfaceCount == _interfaces.Length) Array.Resize(ref _interfaces, _interfaces.Length * 2);
        _interfaces[_interfaceCount++] = iface;
        return true;
    }

    private static void SetResolution(ref Interface iface, byte tsresol)
    {
        iface.Resolution = tsresol;
        int exponent = tsresol & 0x7f;
        if ((tsresol & 0x80) != 0)
        {
            iface.Pow2Shift = Math.Min(exponent, 127);
            iface.Multiplier = 0;
            return;
        }
        if (exponent <= 9)
        {
            iface.Multiplier = Pow10(9 - exponent);
            iface.Divisor = 1;
        }
        else
        {
            iface.Multiplier = 1;
            iface.Divisor = Pow10(Math.Min(exponent - 9, 18));
        }
    }

    private static long Pow10(int n)
    {
        long r = 1;
        for (int i = 0; i < n; i++) r *= 10;
        return r;
    }

    // The enhanced packet block and the obsolete packet block share one layout after the interface
    // id: 32 bits in the EPB, 16 bits (followed by a 16-bit drop count) in the obsolete one (pcapng §4.3, appendix A).
    private bool ReadEnhanced(ReadOnlySpan<byte> body, out Frame frame)
        => ReadPacketBlock(body, body.Length < 4 ? 0 : U32(body), "enhanced packet block", out frame);

    private bool ReadObsolete(ReadOnlySpan<byte> body, out Frame frame)
        => ReadPacketBlock(body, body.Length < 2 ? 0u : U16(body), "packet block", out frame);

    private bool ReadPacketBlock(ReadOnlySpan<byte> body, uint id, string kind, out Frame frame)
    {
        frame = default;
        if (body.Length < 20) return Fail($"{kind} too short");
        uint capLen = U32(body[12..]);
        if (capLen > body.Length - 20) return Fail($"{kind} claims {capLen} bytes in a {body.Length + 12}-byte block");
        if (id >= _interfaceCount) return Fail($"packet for undefined interface {id}");
        ref var iface = ref _interfaces[id];
        ulong ticks = ((ulong)U32(body[4..]) << 32) | U32(body[8..]);
        if (!iface.TryToNanoseconds(ticks, out long ns))
        {
            // A wrapped time would file the frame decades away; the rest of the file is as suspect as a bad length.
            return Fail($"timestamp out of range: {ticks} ticks at if_tsresol 0x{iface.Resolution:x2} with if_tsoffset {iface.OffsetSeconds} s " +
                "is not between 1970 and 2262");
        }
        frame = new Frame(++_frameNumber, ns, iface.LinkType,
            (int)Math.Min(U32(body[16..]), int.MaxValue), body.Slice(20, (int)capLen));
        return true;
    }

    private bool ReadSimple(ReadOnlySpan<byte> body, out Frame frame)
    {
        frame = default;
        if (body.Length < 4) return Fail("simple packet block too short");
        if (_interfaceCount == 0) return Fail("simple packet block without an interface");
        ref var iface = ref _interfaces[0];
        uint origLen = U32(body);
        // The captured length is implicit: the original length cut by the snap length and the block (pcapng §4.4).
        long capLen = Math.Min(origLen, body.Length - 4);
        if (iface.SnapLength != 0) capLen = Math.Min(capLen, iface.SnapLength);
        // A simple packet has no timestamp; 0 keeps "unknown" distinguishable from any real time.
        frame = new Frame(++_frameNumber, 0, iface.LinkType, (int)Math.Min(origLen, int.MaxValue), body.Slice(4, (int)capLen));
        return true;
    }

    private struct Interface
    {
        public int LinkType;
        public uint SnapLength;
        public long Multiplier; // 0: binary resolution, use Pow2Shift
        public long Divisor;
        public int Pow2Shift;
        public long OffsetSeconds;
        public byte Resolution;

        /// <summary>
        /// Nanoseconds since 1970, computed without overflow: false when the time lies before 1970 or beyond
        /// what 64-bit nanoseconds hold (2262-04-11), which only a corrupt timestamp or option produces.
        /// </summary>
        public readonly bool TryToNanoseconds(ulong ticks, out long ns)
        {
            Int128 t;
            if (Multiplier == 0) t = (Int128)(((UInt128)ticks * 1_000_000_000UL) >> Pow2Shift);
            else if (Divisor == 1) t = (Int128)ticks * Multiplier;
            else t = ticks / (ulong)Divisor;
            t += (Int128)OffsetSeconds * 1_000_000_000L;
            ns = unchecked((long)t);
            return t >= 0 && t <= long.MaxValue;
        }
    }

    // ---- header detection -------------------------------------------------------------------

    private static CaptureCompression DetectCompression(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b) return CaptureCompression.Gzip;
        if (head.Length >= 4)
        {
            uint m = BinaryPrimitives.ReadUInt32LittleEndian(head);
            // A zstd frame, or a skippable frame (0x184D2A50..5F) that some tools put first.
            if (m == 0xFD2FB528 || (m & 0xFFFFFFF0) == 0x184D2A50) return CaptureCompression.Zstd;
        }
        return CaptureCompression.None;
    }

    private void ReadFileHeader()
    {
        string what = Compression == CaptureCompression.None ? "" : $" ({Compression.ToString().ToLowerInvariant()} content)";
        if (!Ensure(4))
        {
            if (_readError != null) throw new CaptureFormatException($"{Name}: cannot read{what}: {_readError}");
            throw new CaptureFormatException(_end - _pos == 0 ? $"{Name}: empty input{what}, not a capture file"
                : $"{Name}: only {_end - _pos} bytes{what}, not a capture file");
        }
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(_buf);
        if (magic == PcapNgSectionHeader)
        {
            Format = CaptureFormat.PcapNg;
            return;
        }
        switch (magic)
        {
            case 0xA1B2C3D4: Format = CaptureFormat.Pcap; break;
            case 0xD4C3B2A1: Format = CaptureFormat.Pcap; _bigEndian = true; break;
            case 0xA1B23C4D: Format = CaptureFormat.PcapNanosecond; break;
            case 0x4D3CB2A1: Format = CaptureFormat.PcapNanosecond; _bigEndian = true; break;
            case 0xA1B2CD34: Format = CaptureFormat.PcapModified; break;
            case 0x34CDB2A1: Format = CaptureFormat.PcapModified; _bigEndian = true; break;
            default:
                throw new CaptureFormatException($"{Name}: not a pcap or pcapng capture{what} (starts with {Convert.ToHexString(_buf, 0, 4).ToLowerInvariant()})");
        }
        if (!Ensure(24)) throw new CaptureFormatException($"{Name}: truncated pcap file header ({_end} of 24 bytes){what}");
        var h = _buf.AsSpan(0, 24);
        _pcapLinkType = (int)(U32(h[20..]) & 0xFFFF); // upper bits may carry FCS length (pcap spec §4)
        _fractionToNs = Format == CaptureFormat.PcapNanosecond ? 1 : 1000;
        _recordHeader = Format == CaptureFormat.PcapModified ? 24 : 16;
        _pos = 24;
    }

    // ---- buffer ------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Ensure(int count) => _end - _pos >= count || Fill(count);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Fill(int count)
    {
        if (_eof) return false;
        int have = _end - _pos;
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buf, _pos, _buf, 0, have);
            _bufBase += _pos;
            _pos = 0;
            _end = have;
        }
        while (_end < count)
        {
            if (_end == _buf.Length)
            {
                // Grow only as data arrives (doubling while the buffer is full): a corrupt length in a short input
                // must not allocate 256 MiB up front.
                var bigger = new byte[Math.Min(_buf.Length * 2, MaxRecordBytes + 64)];
                Buffer.BlockCopy(_buf, 0, bigger, 0, _end);
                _buf = bigger;
            }
            // Also here, not only on reads of the stored input: a gzip or zstd bomb yields gigabytes of blocks
            // from a few reads of it.
            _raw.Cancellation.ThrowIfCancellationRequested();
            int r;
            try
            {
                r = _data.Read(_buf, _end, _buf.Length - _end);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                // Broken gzip/zstd data or an I/O error: everything before it has been delivered.
                _readError = FirstLine(e.Message);
                _eof = true;
                return false;
            }
            if (r <= 0)
            {
                _eof = true;
                if (_data is GZipStream) CheckGzipEnd();
                return false;
            }
            _end += r;
        }
        return true;
    }

    /// <summary>
    /// Fallback when the runtime's zlib cannot be bound. GZipStream returns end-of-data when its input stops mid-member instead of failing, so a cut .gz
    /// would look complete. The last member's trailer ends in ISIZE, its length mod 2^32 (RFC 1952 §2.3.1):
    /// it cannot exceed everything decompressed, and equals it for a single-member file.
    /// </summary>
    private void CheckGzipEnd()
    {
        var tail = _raw.Tail;
        long total = _bufBase + _end;
        if (tail.Length < 8)
        {
            _readError = "gzip data ends before its trailer";
            return;
        }
        uint isize = BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
        if (total < (1L << 32) && isize > total) _readError = "gzip data ends early (file cut short?)";
    }

    private static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    private static int ReadUpTo(Stream s, Span<byte> into)
    {
        int got = 0;
        while (got < into.Length)
        {
            int r = s.Read(into[got..]);
            if (r <= 0) break;
            got += r;
        }
        return got;
    }

    private bool End()
    {
        _done = true;
        return false;
    }

    private bool FailInput()
    {
        Damage = new CaptureDamage(_frameNumber + 1, _bufBase + _pos, _readError!);
        _done = true;
        return false;
    }

    private bool Fail(string reason)
    {
        if (_readError != null) reason = $"{reason}; input error: {_readError}";
        Damage = new CaptureDamage(_frameNumber + 1, _bufBase + _pos, reason);
        _done = true;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint U32(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ushort U16(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong U64(ReadOnlySpan<byte> s) => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
}
