using DuckDB.NET.Native;
using static DuckDB.NET.Native.DuckDBType;

namespace PcapDht.Pipeline;

/// <summary>
/// The storage tables' columns, defined once: <see cref="Store.StoreSchema"/> creates the tables from these
/// layouts and <see cref="RowEncoder"/> writes the leaves by the indices below (resolved by name when the
/// type loads, so they are JIT-time constants). Storage is narrow, numeric and fixed-width because that is
/// what DuckDB appends fast (docs/schema.md, "Why the storage looks like this"); the views turn the numbers
/// into text addresses and BLOB ids. Only capture_id, frame_no and ts are top-level (time-ordered: their
/// zone maps prune by time); the rest sits in a STRUCT, because DuckDB's append cost is per value (and per
/// top-level column it also keeps a HyperLogLog of distinct values, which STRUCT children skip), and a
/// UHUGEINT costs more than two UBIGINTs. 128-bit addresses are split hi/lo, 20-byte ids into a (8 bytes),
/// b (8 bytes) and 4 bytes in a <c>lo</c> column. Bit layouts are in docs/schema.md.
/// </summary>
internal static class StoreColumns
{
    private static Column C(string name, DuckDBType type, bool nullable = false) => new(name, type, nullable);
    private static Column U64(string name, bool nullable = false) => new(name, UnsignedBigInt, nullable);

    // The three leading columns of every row table.
    private static readonly Column[] Head = [C("capture_id", Integer), C("frame_no", BigInt), C("ts", TimestampTz)];
    public const int CaptureId = 0, FrameNo = 1, Ts = 2;

    /// <summary>
    /// One row per KRPC message. The sender (address, port, and id when it is 20 bytes) and the destination (address,
    /// port) are keys of <see cref="EndpointDim"/>: a DHT node sends and receives many messages, and the ~42 bytes of
    /// the two endpoints were half of a message row. <c>pcapdht_store.msg_wide</c> puts them back.
    /// </summary>
    public static readonly TableLayout Msg = new("msg", [.. Head, Column.Struct("d",
        C("src_k", UnsignedInteger), C("dst_k", UnsignedInteger),
        C("ports", UnsignedInteger), U64("info"), U64("sizes"), U64("counts"), U64("tx", true),
        U64("key_a", true), U64("key_b", true), C("key_lo", UnsignedInteger),
        U64("version", true), U64("tok_hi", true), U64("tok_lo", true), U64("ext_hi", true), U64("ext_lo", true),
        C("rtt_us", BigInt, true), C("extra", Varchar, true))]);

    /// <summary>
    /// The endpoint dimension: one row per distinct message endpoint of a capture, numbered per capture by <c>e.k</c>
    /// (<see cref="NodeKeys"/>, a dictionary of its own): a sender as address, port and 20-byte id, or an address and
    /// port without id (a destination, or a sender whose id is missing or not 20 bytes). msg keeps the keys; frame_no
    /// and ts are those of the endpoint's first message. Rides in the messages lane, in the transaction of the rows
    /// that name it. IPv4 addresses are stored IPv4-mapped.
    /// </summary>
    public static readonly TableLayout EndpointDim = new("endpoint_dim", [.. Head, Column.Struct("e",
        C("k", UnsignedInteger), U64("ip_hi"), U64("ip_lo"), C("port", UnsignedSmallInt), U64("id_a", true), U64("id_b", true),
        C("id_lo", UnsignedInteger, true))]);

    /// <summary>
    /// The node dimension: one row per distinct contact (address, port, id) of a capture's <c>nodes</c> and <c>nodes6</c>
    /// lists, numbered per capture by <c>n.k</c> (<see cref="NodeKeys"/>). A contact is sent in many replies (each
    /// address, port and id cost ~30 bytes per sighting when stored with it); node and node6 keep only its key.
    /// frame_no and ts are those of the row's first sighting. IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d).
    /// The encoder's dictionary is bounded: after <see cref="NodeKeys.MaxEntries"/> contacts it starts over, so a
    /// contact may have more than one key in a long capture; keys stay unique per capture.
    /// </summary>
    public static readonly TableLayout NodeDim = new("node_dim", [.. Head, Column.Struct("n",
        C("k", UnsignedInteger), U64("ip_hi"), U64("ip_lo"), C("port", UnsignedSmallInt), U64("id_a"), U64("id_b"), C("id_lo", UnsignedInteger))]);

    /// <summary>Contacts from <c>nodes</c> (IPv4, BEP 5): the key of the contact in <see cref="NodeDim"/>. The sender of
    /// each message is not repeated here: node_sightings reads it from msg.</summary>
    public static readonly TableLayout Node = new("node", [.. Head, Column.Struct("n", C("k", UnsignedInteger))]);

    /// <summary>Contacts from <c>nodes6</c> (BEP 32): the key of the contact in <see cref="NodeDim"/>.</summary>
    public static readonly TableLayout Node6 = new("node6", [.. Head, Column.Struct("n", C("k", UnsignedInteger))]);

    /// <summary>Peers from <c>values</c> and announce_peer; the reporter is always the message's sender (in msg).</summary>
    public static readonly TableLayout Peer = new("peer", [.. Head, Column.Struct("p",
        U64("ih_a", true), U64("ih_b", true), C("ih_lo", UnsignedInteger, true),
        U64("ip_hi"), U64("ip_lo"), C("port", UnsignedSmallInt), C("source", UnsignedTinyInt))]);

    /// <summary>Datagrams that looked like KRPC but did not decode.</summary>
    public static readonly TableLayout Malformed = new("malformed", [.. Head,
        C("ts_ns_frac", UnsignedSmallInt), C("src_ip", UnsignedHugeInt), C("src_port", UnsignedSmallInt),
        C("dst_ip", UnsignedHugeInt), C("dst_port", UnsignedSmallInt), C("reason", Varchar), C("byte_offset", Integer), C("payload", Blob)]);

    /// <summary>Every row table, in the order <see cref="RowEncoder"/> numbers them.</summary>
    public static readonly TableLayout[] All = [Msg, Node, Node6, Peer, Malformed, NodeDim, EndpointDim];

    /// <summary>msg leaves.</summary>
    public static class M
    {
        public static readonly int SrcKey = Msg.Leaf("d.src_k"), DstKey = Msg.Leaf("d.dst_k"), Ports = Msg.Leaf("d.ports"),
            Info = Msg.Leaf("d.info"), Sizes = Msg.Leaf("d.sizes"), Counts = Msg.Leaf("d.counts"), Tx = Msg.Leaf("d.tx"),
            KeyA = Msg.Leaf("d.key_a"), KeyLo = Msg.Leaf("d.key_lo"), Version = Msg.Leaf("d.version"),
            TokHi = Msg.Leaf("d.tok_hi"), ExtHi = Msg.Leaf("d.ext_hi"), Rtt = Msg.Leaf("d.rtt_us"), Extra = Msg.Leaf("d.extra");
    }

    /// <summary>node and node6 leaves (the same layout).</summary>
    public static class N
    {
        public static readonly int Key = Node.Leaf("n.k");
    }

    /// <summary>node_dim leaves.</summary>
    public static class ND
    {
        public static readonly int Key = NodeDim.Leaf("n.k"), IpHi = NodeDim.Leaf("n.ip_hi"), Port = NodeDim.Leaf("n.port"),
            IdA = NodeDim.Leaf("n.id_a"), IdLo = NodeDim.Leaf("n.id_lo");
    }

    /// <summary>endpoint_dim leaves (in node_dim's order after the key: RowEncoder writes both alike).</summary>
    public static class E
    {
        public static readonly int Key = EndpointDim.Leaf("e.k"), IpHi = EndpointDim.Leaf("e.ip_hi"), Port = EndpointDim.Leaf("e.port"),
            IdA = EndpointDim.Leaf("e.id_a"), IdLo = EndpointDim.Leaf("e.id_lo");
    }

    /// <summary>peer leaves.</summary>
    public static class P
    {
        public static readonly int IhA = Peer.Leaf("p.ih_a"), IhLo = Peer.Leaf("p.ih_lo"), IpHi = Peer.Leaf("p.ip_hi"),
            Port = Peer.Leaf("p.port"), Source = Peer.Leaf("p.source");
    }

    /// <summary>malformed leaves.</summary>
    public static class X
    {
        public static readonly int Frac = Malformed.Leaf("ts_ns_frac"), SrcIp = Malformed.Leaf("src_ip"), SrcPort = Malformed.Leaf("src_port"),
            DstIp = Malformed.Leaf("dst_ip"), DstPort = Malformed.Leaf("dst_port"), Reason = Malformed.Leaf("reason"),
            Offset = Malformed.Leaf("byte_offset"), Payload = Malformed.Leaf("payload");
    }
}
