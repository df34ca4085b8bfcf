using System.Runtime.CompilerServices;

namespace PcapDht.Pipeline;

/// <summary>
/// A row encoder's dictionary of one capture's contacts (address, port, id): each gets a key, and the rows store that
/// key instead of the ~30 bytes of the contact. The encoder keeps two: the contacts of the <c>nodes</c> and <c>nodes6</c>
/// lists (<see cref="StoreColumns.NodeDim"/>; a DHT reply repeats contacts all the time, the loopback recording has 218
/// sightings per distinct contact) and the messages' endpoints (<see cref="StoreColumns.EndpointDim"/>), so most lookups
/// find their key. <c>port</c> is 32 bits so the endpoints can tell an address and port without id (bit 16 clear) from
/// one with an id (bit 16 set).
/// <para>
/// Open addressing with linear probing over parallel arrays; the hash is <see cref="HashCode"/>, seeded per process,
/// so contacts a peer makes up cannot be chosen to collide. Memory is bounded: at <see cref="MaxEntries"/> contacts
/// the table empties and numbering goes on (a contact seen again then gets a new key and a second dimension row),
/// so keys never repeat within a capture and the table never exceeds 44 MB (2^20 slots of 44 bytes, at most half full).
/// </para>
/// </summary>
internal sealed class NodeKeys
{
    /// <summary>Contacts held before the table starts over.</summary>
    public const int MaxEntries = 1 << 19;

    private const int InitialCapacity = 1 << 10;

    private ulong[] _ipHi = [], _ipLo = [], _idA = [], _idB = [];
    private uint[] _idLo = [], _key = []; // _key: key + 1, 0 = empty slot
    private uint[] _port = [];
    private int _mask = -1, _count;
    private uint _next;

    public NodeKeys() => Allocate(InitialCapacity);

    /// <summary>Contacts in the table now.</summary>
    public int Count => _count;

    /// <summary>The key the next new contact gets (the keys handed out in the capture so far).</summary>
    public uint NextKey => _next;

    /// <summary>Forgets every contact and goes on numbering at <paramref name="next"/> (0 for a new capture; where the
    /// capture's numbering ended when its rows go on after another capture's).</summary>
    public void Restart(uint next)
    {
        Forget();
        _next = next;
    }

    /// <summary>
    /// Forgets every contact but keeps numbering from where it was: after rows that were not stored are dropped (their
    /// contacts' dimension rows went with them), the next sighting of those contacts must add its row again, and a key
    /// must not name two contacts.
    /// </summary>
    public void Forget()
    {
        if (_key.Length > InitialCapacity) Allocate(InitialCapacity);
        else Array.Clear(_key);
        _count = 0;
    }

    /// <summary>The contact's key; <paramref name="added"/> when it is new (its dimension row is to be written).</summary>
    /// <exception cref="InvalidOperationException">the capture has used every 32-bit key.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint GetOrAdd(ulong ipHi, ulong ipLo, uint port, ulong idA, ulong idB, uint idLo, out bool added)
    {
        int i = HashCode.Combine(ipHi, ipLo, port, idA, idB, idLo) & _mask;
        while (true)
        {
            uint k = _key[i];
            if (k == 0) break;
            if (_idA[i] == idA && _ipLo[i] == ipLo && _idB[i] == idB && _idLo[i] == idLo && _port[i] == port && _ipHi[i] == ipHi)
            {
                added = false;
                return k - 1;
            }
            i = (i + 1) & _mask;
        }
        added = true;
        return Add(i, ipHi, ipLo, port, idA, idB, idLo);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint Add(int slot, ulong ipHi, ulong ipLo, uint port, ulong idA, ulong idB, uint idLo)
    {
        if (_next == uint.MaxValue)
            throw new InvalidOperationException("a capture has more than 4,294,967,294 distinct contacts (node-list entries or message endpoints): split it into several files");
        uint key = _next++;
        if (_count >= MaxEntries) Forget();
        else if ((_count + 1) * 2 <= _key.Length)
        {
            Store(slot, ipHi, ipLo, port, idA, idB, idLo, key);
            _count++;
            return key;
        }
        else Grow();
        Insert(ipHi, ipLo, port, idA, idB, idLo, key);
        _count++;
        return key;
    }

    private void Insert(ulong ipHi, ulong ipLo, uint port, ulong idA, ulong idB, uint idLo, uint key)
    {
        int i = HashCode.Combine(ipHi, ipLo, port, idA, idB, idLo) & _mask;
        while (_key[i] != 0) i = (i + 1) & _mask;
        Store(i, ipHi, ipLo, port, idA, idB, idLo, key);
    }

    private void Store(int i, ulong ipHi, ulong ipLo, uint port, ulong idA, ulong idB, uint idLo, uint key)
    {
        _ipHi[i] = ipHi; _ipLo[i] = ipLo; _port[i] = port; _idA[i] = idA; _idB[i] = idB; _idLo[i] = idLo;
        _key[i] = key + 1;
    }

    private void Grow()
    {
        var (ipHi, ipLo, port, idA, idB, idLo, key) = (_ipHi, _ipLo, _port, _idA, _idB, _idLo, _key);
        Allocate(_key.Length * 2);
        for (int i = 0; i < key.Length; i++)
            if (key[i] != 0) Insert(ipHi[i], ipLo[i], port[i], idA[i], idB[i], idLo[i], key[i] - 1);
    }

    private void Allocate(int capacity)
    {
        _ipHi = new ulong[capacity]; _ipLo = new ulong[capacity]; _idA = new ulong[capacity]; _idB = new ulong[capacity];
        _idLo = new uint[capacity]; _key = new uint[capacity]; _port = new uint[capacity];
        _mask = capacity - 1;
    }
}
