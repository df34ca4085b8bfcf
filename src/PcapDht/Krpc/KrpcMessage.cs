namespace PcapDht.Krpc;

/// <summary>The KRPC message kind, the value of the top-level <c>y</c> key (BEP 5).</summary>
public enum KrpcKind : byte
{
    Query = (byte)'q',
    Response = (byte)'r',
    Error = (byte)'e',
}

/// <summary>Methods known to today's DHT. <see cref="Other"/> keeps the name in <see cref="KrpcMessage.MethodName"/>.</summary>
public enum KrpcMethod : byte
{
    None = 0,          // responses and errors carry no method of their own
    Ping = 1,          // BEP 5
    FindNode = 2,      // BEP 5
    GetPeers = 3,      // BEP 5
    AnnouncePeer = 4,  // BEP 5
    Get = 5,           // BEP 44
    Put = 6,           // BEP 44
    SampleInfohashes = 7, // BEP 51
    Other = 255,
}

/// <summary>Things a measuring tool wants to know about how a message was encoded (not fatal).</summary>
[Flags]
public enum KrpcFlags : uint
{
    None = 0,
    UnsortedKeys = 1 << 0,          // BEP 3 requires sorted dictionary keys; real clients break it
    DuplicateKeys = 1 << 1,         // last value wins (as npm bencode); flagged
    NodesTrailingBytes = 1 << 2,    // `nodes` length not a multiple of 26; whole records kept
    Nodes6TrailingBytes = 1 << 3,   // `nodes6` length not a multiple of 38
    ValuesOddEntry = 1 << 4,        // a `values` entry that is neither 6 nor 18 bytes
    SamplesTrailingBytes = 1 << 5,  // `samples` length not a multiple of 20 (BEP 51)
    IdNot20Bytes = 1 << 6,          // `id` present but not 20 bytes
    UnknownKeys = 1 << 7,           // keys outside the known set were skipped
    ResponseIpInR = 1 << 8,         // BEP 42 `ip` found inside `r` rather than at the top level
    PortOutOfRange = 1 << 9,        // `port` (or libtorrent `p`) outside 0..65535; Port stays -1
}

/// <summary>
/// A decoded KRPC message: every field is a slice of the UDP payload (or a small scalar), nothing is
/// allocated. Empty spans mean "absent"; use the Has* properties where empty is a legal value.
/// Compact lists (nodes, nodes6, samples, values) are kept raw and read with the enumerators in
/// <see cref="CompactLists"/>.
/// </summary>
public ref struct KrpcMessage
{
    public KrpcKind Kind;                   // y
    public ReadOnlySpan<byte> TransactionId; // t (any length; BEP 5 says short string)
    public KrpcMethod Method;               // q, parsed
    public ReadOnlySpan<byte> MethodName;   // q, raw (for Other)
    public ReadOnlySpan<byte> Version;      // v (top level; client code + version, often 4 bytes)
    public bool ReadOnly;                   // ro=1 (BEP 43)
    public ReadOnlySpan<byte> ExternalIp;   // ip (BEP 42): 6 (v4) or 18 (v6) bytes compact address+port

    // a (query arguments) or r (response values): merged, since a message has one or the other.
    public ReadOnlySpan<byte> NodeId;       // id
    public ReadOnlySpan<byte> Target;       // target (find_node, get)
    public ReadOnlySpan<byte> InfoHash;     // info_hash (get_peers, announce_peer)
    public ReadOnlySpan<byte> Token;        // token
    public int Port;                        // port (announce_peer); -1 when absent or outside 0..65535
    public long RawPort;                    // port as sent when it is outside 0..65535 (PortOutOfRange); 0 otherwise
    public int ImpliedPort;                 // implied_port; -1 when absent
    public ReadOnlySpan<byte> Nodes;        // nodes: 26-byte records (20 id + 4 ip + 2 port)
    public ReadOnlySpan<byte> Nodes6;       // nodes6: 38-byte records (BEP 32)
    public ReadOnlySpan<byte> Values;       // values: the raw bencoded list "l6:...e" (peers, 6 or 18 bytes each)
    public int ValuesCount;                 // number of strings in values
    public byte Want;                       // want (BEP 32): bit 0 n4, bit 1 n6
    public bool Scrape;                     // scrape=1 (BEP 33)
    public bool NoSeed;                     // noseed=1 (BEP 33)
    public ReadOnlySpan<byte> BFsd;         // BFsd 256-byte bloom filter (BEP 33)
    public ReadOnlySpan<byte> BFpe;         // BFpe (BEP 33)
    public ReadOnlySpan<byte> Samples;      // samples (BEP 51): 20-byte info-hashes
    public long Num;                        // num (BEP 51); -1 when absent
    public long Interval;                   // interval (BEP 51); -1 when absent
    public ReadOnlySpan<byte> Key;          // k (BEP 44): 32-byte ed25519 public key
    public ReadOnlySpan<byte> Signature;    // sig (BEP 44)
    public long Seq;                        // seq (BEP 44); -1 when absent
    public long Cas;                        // cas (BEP 44); -1 when absent
    public ReadOnlySpan<byte> Salt;         // salt (BEP 44)
    public ReadOnlySpan<byte> Value;        // v inside a/r (BEP 44): the raw bencoded value
    public ReadOnlySpan<byte> LtPeer;       // libtorrent's `p` (its own listen port as seen by itself): string bytes, integer digits, or raw bencode
    public int LtPort;                      // `p` when it is an integer in 0..65535 (as in the nDPI capture); -1 otherwise
    public ReadOnlySpan<byte> LtName;       // libtorrent's `n` (name, used by some of its messages)

    // e
    public long ErrorCode;                  // e[0]; -1 when absent
    public ReadOnlySpan<byte> ErrorMessage; // e[1]

    public KrpcFlags Flags;
}
