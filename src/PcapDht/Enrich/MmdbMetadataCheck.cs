using System.Diagnostics.CodeAnalysis;

namespace PcapDht.Enrich;

/// <summary>
/// Checks an MMDB file's metadata (MaxMind DB format 2.0) with a small bounded decoder before MaxMind.Db sees the
/// file. MaxMind.Db 5.2.0 copies the content into an anonymous memory map before it reads the metadata and leaks
/// that map when its <c>Reader</c> constructor throws (fuzz finding ranges #3, docs/fuzzing.md): one map per
/// refused file, and about 65,000 of them exhaust the process's map count. So a file its constructor would throw
/// on must be refused here first. The check is at least as strict as that constructor: the last metadata marker
/// (not at offset 0, which its search never reaches), a metadata map (or one pointer to it) with string keys,
/// every value of a key its <c>Metadata</c> binds in exactly the encoding it binds (an <c>int</c> from uint16 or
/// int32, <c>node_count</c> a uint32, <c>build_epoch</c> a uint64, <c>languages</c> an array of strings,
/// <c>description</c> a map of strings without a repeated key), other values skippable inside the file, and no
/// pointer to a pointer (the format forbids it; MaxMind.Db follows such chains by recursion). Then what the reader
/// needs of the values: format 2, <c>ip_version</c> 4 or 6, <c>record_size</c> 24, 28 or 32, at least one node,
/// the search tree and the 16-byte separator before the marker (so the walk to the IPv4 subtree of an IPv6 tree
/// stays inside the file), a database type, and a build time a <see cref="DateTime"/> can hold.
/// </summary>
internal static class MmdbMetadataCheck
{
    private static ReadOnlySpan<byte> Marker => RangeFileReader.MmdbMetadataMarker;
    private const int DataSectionSeparator = 16;
    private const ulong LastDateTimeSecond = 253_402_300_799; // 9999-12-31T23:59:59Z

    private enum Type
    {
        Pointer = 1, String = 2, Double = 3, Bytes = 4, UInt16 = 5, UInt32 = 6, Map = 7,
        Int32 = 8, UInt64 = 9, UInt128 = 10, Array = 11, Container = 12, EndMarker = 13, Boolean = 14, Float = 15,
    }

    /// <summary>Null when MaxMind.Db can open the file; otherwise why not, in a few words (one line).</summary>
    public static string? Problem(ReadOnlySpan<byte> file)
    {
        int marker = file.LastIndexOf(Marker);
        if (marker <= 0) return "no metadata marker after the start of the file";
        try
        {
            var metadata = new Cursor(file, marker + Marker.Length).ReadMetadata();
            if (metadata.MajorVersion != 2) return $"binary format version {metadata.MajorVersion?.ToString() ?? "missing"}, not 2";
            if (metadata.IpVersion is not (4 or 6)) return $"ip_version {metadata.IpVersion?.ToString() ?? "missing"}, not 4 or 6";
            if (metadata.RecordSize is not (24 or 28 or 32)) return $"record_size {metadata.RecordSize?.ToString() ?? "missing"}, not 24, 28 or 32";
            if (metadata.NodeCount is not > 0) return $"node_count {metadata.NodeCount?.ToString() ?? "missing"}";
            long treeBytes = metadata.NodeCount.Value * (metadata.RecordSize.Value / 4);
            if (treeBytes + DataSectionSeparator > marker)
                return $"a search tree of {metadata.NodeCount} nodes ({treeBytes} bytes) does not fit before the metadata at byte {marker}";
            if (metadata.DatabaseType is null) return "no database_type";
            if (metadata.BuildEpoch is not { } epoch) return "no build_epoch";
            if (epoch > LastDateTimeSecond) return $"build_epoch {epoch} is past the year 9999";
            return null;
        }
        catch (MetadataException e)
        {
            return e.Message;
        }
    }

    private sealed class MetadataException(string message) : Exception(message);

    private record struct Metadata(long? MajorVersion, long? IpVersion, long? RecordSize, long? NodeCount, ulong? BuildEpoch, string? DatabaseType);

    /// <summary>A forward reader at an absolute file offset; pointers resolve against the metadata's start.</summary>
    private ref struct Cursor(ReadOnlySpan<byte> file, int metadataStart)
    {
        private readonly ReadOnlySpan<byte> _file = file;
        private readonly int _base = metadataStart;
        private long _offset = metadataStart;

        public Metadata ReadMetadata()
        {
            var (type, size, resume) = Resolve();
            if (type != Type.Map) Fail($"metadata is a {Name(type)}, not a map");
            var metadata = new Metadata();
            for (int i = 0; i < size; i++)
            {
                string key = ReadString("a metadata key");
                switch (key)
                {
                    case "binary_format_major_version": metadata.MajorVersion = ReadInt(key); break;
                    case "binary_format_minor_version": ReadInt(key); break;
                    case "ip_version": metadata.IpVersion = ReadInt(key); break;
                    case "record_size": metadata.RecordSize = ReadInt(key); break;
                    case "node_count": metadata.NodeCount = (long)ReadUnsigned(key, Type.UInt32, 4); break;
                    case "build_epoch": metadata.BuildEpoch = ReadUnsigned(key, Type.UInt64, 8); break;
                    case "database_type": metadata.DatabaseType = ReadString(key); break;
                    case "languages": ReadLanguages(); break;
                    case "description": ReadDescription(); break;
                    default: Skip(); break;
                }
            }
            Done(resume);
            return metadata;
        }

        /// <summary>MaxMind.Db binds an <c>int</c> from a uint16 or an int32 of up to 4 bytes.</summary>
        private long ReadInt(string key)
        {
            var (type, size, resume) = Resolve();
            if (type is not (Type.UInt16 or Type.Int32) || size > 4) Fail($"{key} is a {Name(type)} of {size} bytes, not an integer");
            uint value = 0;
            foreach (byte b in Take(size)) value = value << 8 | b;
            Done(resume);
            return type == Type.Int32 && size == 4 ? (int)value : value;
        }

        private ulong ReadUnsigned(string key, Type expected, int maxBytes)
        {
            var (type, size, resume) = Resolve();
            if (type != expected || size > maxBytes) Fail($"{key} is a {Name(type)} of {size} bytes, not a {Name(expected)}");
            ulong value = 0;
            foreach (byte b in Take(size)) value = value << 8 | b;
            Done(resume);
            return value;
        }

        private string ReadString(string what)
        {
            var (type, size, resume) = Resolve();
            if (type != Type.String) Fail($"{what} is a {Name(type)}, not a string");
            string value = System.Text.Encoding.UTF8.GetString(Take(size));
            Done(resume);
            return value;
        }

        private void ReadLanguages()
        {
            var (type, size, resume) = Resolve();
            if (type != Type.Array) Fail($"languages is a {Name(type)}, not an array");
            for (int i = 0; i < size; i++) ReadString("a language");
            Done(resume);
        }

        private void ReadDescription()
        {
            var (type, size, resume) = Resolve();
            if (type != Type.Map) Fail($"description is a {Name(type)}, not a map");
            // MaxMind.Db adds these to a Dictionary: a repeated key throws from its constructor.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < size; i++)
            {
                if (!seen.Add(ReadString("a description's language"))) Fail("description repeats a language");
                ReadString("a description");
            }
            Done(resume);
        }

        /// <summary>Skips one value as MaxMind.Db skips a key it does not bind: containers by count, pointers unfollowed.</summary>
        private void Skip()
        {
            long pending = 1;
            while (pending-- > 0)
            {
                var (type, size) = Control();
                switch (type)
                {
                    case Type.Pointer: Take(((size >> 3) & 3) + 1); break;
                    case Type.Map: pending += 2L * size; break;
                    case Type.Array: pending += size; break;
                    case Type.Boolean: break;
                    default: Take(size); break;
                }
            }
        }

        /// <summary>
        /// The next value's type and size, through at most one pointer (the format forbids a pointer to a pointer).
        /// After a pointer the value is read whole at its target, and <see cref="Done"/> returns to the byte after
        /// the pointer (<paramref name="resume"/>, -1 without a pointer).
        /// </summary>
        private (Type Type, int Size, long Resume) Resolve()
        {
            var (type, size) = Control();
            if (type != Type.Pointer) return (type, size, -1);
            int bytes = ((size >> 3) & 3) + 1;
            uint packed = 0;
            foreach (byte b in Take(bytes)) packed = packed << 8 | b;
            long target = bytes switch
            {
                1 => (long)(size & 7) << 8 | packed,
                2 => ((long)(size & 7) << 16 | packed) + 2048,
                3 => ((long)(size & 7) << 24 | packed) + 526_336,
                _ => packed,
            };
            long resume = _offset;
            _offset = _base + target;
            (type, size) = Control();
            if (type == Type.Pointer) Fail("a pointer to a pointer");
            return (type, size, resume);
        }

        private void Done(long resume)
        {
            if (resume >= 0) _offset = resume;
        }

        private (Type Type, int Size) Control()
        {
            byte control = Take(1)[0];
            var type = (Type)(control >> 5);
            if (type == 0)
            {
                byte extended = Take(1)[0];
                if (extended == 0 || extended + 7 > (int)Type.Float) Fail($"unknown extended type {extended + 7}");
                type = (Type)(extended + 7);
            }
            int size = control & 0x1f;
            if (size >= 29)
            {
                var extra = Take(size - 28);
                size = size switch
                {
                    29 => 29 + extra[0],
                    30 => 285 + (extra[0] << 8 | extra[1]),
                    _ => 65_821 + (extra[0] << 16 | extra[1] << 8 | extra[2]),
                };
            }
            return (type, size);
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (_offset + count > _file.Length) Fail($"metadata runs past the end of the file (byte {_offset} + {count})");
            var span = _file.Slice((int)_offset, count);
            _offset += count;
            return span;
        }

        private static string Name(Type type) => type.ToString().ToLowerInvariant();

        [DoesNotReturn]
        private static void Fail(string why) => throw new MetadataException(why);
    }
}
