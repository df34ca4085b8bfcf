using System.Runtime.InteropServices;

namespace PcapDht.Capture;

/// <summary>
/// Gzip decompression that, unlike <see cref="System.IO.Compression.GZipStream"/>, tells a file cut
/// short from a finished one: GZipStream returns end-of-data when its input stops in the middle of a
/// member, so a truncated .gz capture would look complete. This drives the zlib that ships with .NET
/// (libSystem.IO.Compression.Native, the library GZipStream itself uses) in gzip mode, which checks
/// every member's CRC-32 and length (RFC 1952 §2.3.1) and reports where a member ends, so
/// concatenated members (`cat a.gz b.gz`, bgzip, pigz --independent) are read one after another.
/// </summary>
internal sealed unsafe class GzipMembersStream : ForwardReadStream
{
    private const string Native = "libSystem.IO.Compression.Native";
    private const int GzipWindowBits = 31; // 15-bit window + 16: gzip wrapper only (zlib.h inflateInit2)
    private const int ZOk = 0;
    private const int ZStreamEnd = 1;
    private const int ZBufError = -5;
    private const int InputSize = 256 << 10;

    private readonly Stream _inner;
    private byte* _input;
    private ZStream* _z;
    private bool _initialized;
    private bool _memberDone;
    private bool _inputEnded;
    private bool _finished;
    private long _members;

    private GzipMembersStream(Stream inner)
    {
        _inner = inner;
        _input = (byte*)NativeMemory.Alloc(InputSize);
        _z = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        int rc = InflateInit2(_z, GzipWindowBits);
        if (rc != ZOk)
        {
            Free();
            throw new InvalidDataException($"zlib inflateInit2 failed ({rc})");
        }
        _initialized = true;
    }

    /// <summary>
    /// Null when the runtime's zlib cannot be bound (another runtime build); callers fall back to GZipStream.
    /// </summary>
    public static Stream? TryCreate(Stream inner)
    {
        try
        {
            return new GzipMembersStream(inner);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Gzip members completed so far.</summary>
    public long Members => _members;


    public override int Read(Span<byte> buffer)
    {
        if (_finished || buffer.IsEmpty) return 0;
        fixed (byte* output = buffer)
        {
            while (true)
            {
                if (_z->AvailIn == 0 && !_inputEnded)
                {
                    int n = _inner.Read(new Span<byte>(_input, InputSize));
                    if (n <= 0) _inputEnded = true;
                    else
                    {
                        _z->NextIn = _input;
                        _z->AvailIn = (uint)n;
                    }
                }
                if (_z->AvailIn == 0 && _inputEnded)
                {
                    if (_memberDone)
                    {
                        _finished = true;
                        return 0;
                    }
                    throw new InvalidDataException("gzip data ends inside a member (file cut short?)");
                }
                if (_memberDone)
                {
                    int reset = InflateReset2(_z, GzipWindowBits);
                    if (reset != ZOk) throw new InvalidDataException($"zlib inflateReset2 failed ({reset})");
                    _memberDone = false;
                }
                _z->NextOut = output;
                _z->AvailOut = (uint)buffer.Length;
                int rc = Inflate(_z, 0);
                int produced = buffer.Length - (int)_z->AvailOut;
                if (rc == ZStreamEnd)
                {
                    _memberDone = true;
                    _members++;
                }
                else if (rc != ZOk && rc != ZBufError)
                {
                    string detail = _z->Msg != null ? Marshal.PtrToStringAnsi((nint)_z->Msg) ?? "" : "";
                    throw new InvalidDataException($"gzip data corrupt after {_members} member(s): {detail} ({rc})");
                }
                if (produced > 0) return produced;
            }
        }
    }


    protected override void Dispose(bool disposing)
    {
        Free();
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }

    ~GzipMembersStream() => Free();

    private void Free()
    {
        if (_initialized)
        {
            InflateEnd(_z);
            _initialized = false;
        }
        if (_z != null) NativeMemory.Free(_z);
        if (_input != null) NativeMemory.Free(_input);
        _z = null;
        _input = null;
        _finished = true;
        GC.SuppressFinalize(this);
    }

    /// <summary>PAL_ZStream of System.IO.Compression.Native (pal_zlib.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public sbyte* Msg;
        public void* InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    [DllImport(Native, EntryPoint = "CompressionNative_InflateInit2_")]
    private static extern int InflateInit2(ZStream* stream, int windowBits);

    [DllImport(Native, EntryPoint = "CompressionNative_Inflate")]
    private static extern int Inflate(ZStream* stream, int flush);

    [DllImport(Native, EntryPoint = "CompressionNative_InflateReset2_")]
    private static extern int InflateReset2(ZStream* stream, int windowBits);

    [DllImport(Native, EntryPoint = "CompressionNative_InflateEnd")]
    private static extern int InflateEnd(ZStream* stream);
}
