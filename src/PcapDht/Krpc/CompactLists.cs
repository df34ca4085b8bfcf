using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using PcapDht.Net;

namespace PcapDht.Krpc;

/// <summary>A node from a compact node list: 20-byte id, address, port (BEP 5 `nodes`, BEP 32 `nodes6`).</summary>
public readonly ref struct CompactNode
{
    public readonly ReadOnlySpan<byte> Id;
    public readonly IpAddr Address;
    public readonly ushort Port;

    public CompactNode(ReadOnlySpan<byte> id, IpAddr address, ushort port)
    {
        Id = id;
        Address = address;
        Port = port;
    }

    public void Deconstruct(out ReadOnlySpan<byte> id, out IpAddr address, out ushort port)
    {
        id = Id;
        address = Address;
        port = Port;
    }
}

/// <summary>A peer from `values` (BEP 5 compact IPv4 6 bytes, BEP 32 IPv6 18 bytes).</summary>
public readonly record struct CompactPeer(IpAddr Address, ushort Port);

/// <summary>
/// Allocation-free enumerators over the compact lists a <see cref="KrpcMessage"/> keeps raw. A list
/// whose length is not a multiple of its record size yields its whole records only (the decoder
/// flags the rest).
/// </summary>
public static class CompactLists
{
    public const int NodeLength = 26;   // BEP 5: 20 id + 4 IPv4 + 2 port
    public const int Node6Length = 38;  // BEP 32: 20 id + 16 IPv6 + 2 port
    public const int PeerLength = 6;    // BEP 5: 4 IPv4 + 2 port
    public const int Peer6Length = 18;  // BEP 32: 16 IPv6 + 2 port
    public const int SampleLength = 20; // BEP 51: info-hash

    /// <summary>`nodes`: 26-byte records.</summary>
    public static NodeEnumerator Nodes(ReadOnlySpan<byte> nodes) => new(nodes, NodeLength);

    /// <summary>`nodes6`: 38-byte records.</summary>
    public static NodeEnumerator Nodes6(ReadOnlySpan<byte> nodes6) => new(nodes6, Node6Length);

    /// <summary>`values`: the raw bencoded list ("l6:....e"); entries of 6 or 18 bytes, others skipped.</summary>
    public static PeerEnumerator Values(ReadOnlySpan<byte> rawList) => new(rawList);

    /// <summary>`samples`: 20-byte info-hashes.</summary>
    public static SampleEnumerator Samples(ReadOnlySpan<byte> samples) => new(samples);

    /// <summary>Reads a 6- or 18-byte compact address+port (also BEP 42 `ip`); false for other lengths.</summary>
    public static bool TryReadEndpoint(ReadOnlySpan<byte> compact, out IpAddr address, out ushort port)
    {
        if (compact.Length == PeerLength)
        {
            address = IpAddr.FromV4Bytes(compact);
            port = BinaryPrimitives.ReadUInt16BigEndian(compact[4..]);
            return true;
        }
        if (compact.Length == Peer6Length)
        {
            address = IpAddr.FromV6Bytes(compact);
            port = BinaryPrimitives.ReadUInt16BigEndian(compact[16..]);
            return true;
        }
        address = default;
        port = 0;
        return false;
    }

    public ref struct NodeEnumerator
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly int _recordLength;
        private int _offset;
        private CompactNode _current;

        internal NodeEnumerator(ReadOnlySpan<byte> data, int recordLength)
        {
            _data = data;
            _recordLength = recordLength;
            _offset = -recordLength;
        }

        /// <summary>Whole records in the list.</summary>
        public readonly int Count => _data.Length / _recordLength;

        public readonly CompactNode Current => _current;

        public readonly NodeEnumerator GetEnumerator() => this;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool MoveNext()
        {
            int next = _offset + _recordLength;
            if (next > _data.Length - _recordLength)
                return false;
            _offset = next;
            ReadOnlySpan<byte> record = _data.Slice(next, _recordLength);
            IpAddr address = _recordLength == NodeLength ? IpAddr.FromV4Bytes(record.Slice(20, 4)) : IpAddr.FromV6Bytes(record.Slice(20, 16));
            _current = new CompactNode(record[..20], address, BinaryPrimitives.ReadUInt16BigEndian(record[^2..]));
            return true;
        }
    }

    public ref struct PeerEnumerator
    {
        private readonly ReadOnlySpan<byte> _list;
        private int _offset;
        private CompactPeer _current;

        internal PeerEnumerator(ReadOnlySpan<byte> rawList)
        {
            _list = rawList;
            _offset = FirstEntry(rawList);
        }

        public readonly CompactPeer Current => _current;

        public readonly PeerEnumerator GetEnumerator() => this;

        /// <summary>Walks "len:bytes" entries; stops at 'e' or at anything that is not a string entry.</summary>
        public bool MoveNext()
        {
            while (TryReadEntry(_list, ref _offset, out var entry))
            {
                if (TryReadEndpoint(entry, out IpAddr address, out ushort port))
                {
                    _current = new CompactPeer(address, port);
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>Where the first entry of a raw bencoded list starts (its length when it is not a list: no entries).</summary>
    internal static int FirstEntry(ReadOnlySpan<byte> rawList) => rawList.Length > 0 && rawList[0] == (byte)'l' ? 1 : rawList.Length;

    /// <summary>
    /// One <c>len:bytes</c> entry of a raw bencoded list at <paramref name="offset"/> (up to 6 digits, a colon, the bytes
    /// inside the list), moving <paramref name="offset"/> past it; false (and <paramref name="offset"/> at the end) at the
    /// end of the list or at anything that is not a string entry. The one definition of how `values` entries are walked.
    /// </summary>
    internal static bool TryReadEntry(ReadOnlySpan<byte> list, ref int offset, out ReadOnlySpan<byte> entry)
    {
        int p = offset;
        int length = 0;
        int digits = 0;
        while (p < list.Length && (uint)(list[p] - '0') <= 9 && digits < 6)
        {
            length = length * 10 + (list[p] - '0');
            p++;
            digits++;
        }
        if (digits == 0 || p >= list.Length || list[p] != (byte)':' || length > list.Length - p - 1)
        {
            offset = list.Length;
            entry = default;
            return false;
        }
        entry = list.Slice(p + 1, length);
        offset = p + 1 + length;
        return true;
    }

    public ref struct SampleEnumerator
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _offset;

        internal SampleEnumerator(ReadOnlySpan<byte> data)
        {
            _data = data;
            _offset = -SampleLength;
        }

        public readonly int Count => _data.Length / SampleLength;

        public readonly ReadOnlySpan<byte> Current => _data.Slice(_offset, SampleLength);

        public readonly SampleEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            int next = _offset + SampleLength;
            if (next > _data.Length - SampleLength)
                return false;
            _offset = next;
            return true;
        }
    }
}
