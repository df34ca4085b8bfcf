namespace PcapDht.Anonymize;

/// <summary>What <see cref="CaptureAnonymizer"/> keeps besides the rewritten addresses.</summary>
public sealed record AnonymizeOptions
{
    /// <summary>Keep UDP payloads that are not KRPC (and TCP, echo and other payloads) whole; addresses inside them are not rewritten.</summary>
    public bool KeepPayloads { get; init; }

    /// <summary>Bytes kept of a payload that is not KRPC when <see cref="KeepPayloads"/> is off: enough to tell uTP or DNS apart, too few for a name or an address.</summary>
    public int PayloadBytes { get; init; } = 8;

    /// <summary>Bytes held back while fragments wait for the rest of their datagram (frames after them wait too, to keep the order).</summary>
    public long MaxHeldBytes { get; init; } = 64L << 20;

    /// <summary>Datagrams waiting for fragments at once; beyond it the oldest is given up (its fragments are cut).</summary>
    public int MaxPendingDatagrams { get; init; } = 1024;

    /// <summary>Capture time after which an incomplete datagram is given up (RFC 8200 §4.5, as the decoder).</summary>
    public TimeSpan FragmentTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public void Validate()
    {
        if (PayloadBytes < 0) throw new ArgumentException("the number of payload bytes kept cannot be negative");
        if (MaxHeldBytes < 1 << 20) throw new ArgumentException("hold at least 1 MiB for fragment reassembly");
        if (MaxPendingDatagrams < 1) throw new ArgumentException("at least one datagram must be able to wait for its fragments");
    }
}

/// <summary>What one rewrite did; every frame read is written exactly once.</summary>
public sealed class AnonymizeCounters
{
    public long FramesRead { get; internal set; }
    public long FramesWritten { get; internal set; }
    /// <summary>Frames written shorter than read (payloads that are not KRPC, unparseable rests, given-up fragments).</summary>
    public long FramesCut { get; internal set; }
    /// <summary>Address fields rewritten: IP headers (inner and quoted ones included), ARP, KRPC.</summary>
    public long AddressesMapped { get; internal set; }
    /// <summary>Distinct addresses the mapper had to compute (cache misses).</summary>
    public long DistinctAddresses { get; internal set; }
    public long KrpcPayloads { get; internal set; }
    /// <summary>KRPC fields cleared because their content could not be read as addresses (odd lengths, bloom filters) or a payload rest that is not bencode.</summary>
    public long KrpcFieldsCleared { get; internal set; }
    public long OtherPayloadsCut { get; internal set; }
    public long FragmentedDatagramsRewritten { get; internal set; }
    /// <summary>Fragmented datagrams never completed (missing, overlapping, timed out, over the limits): their fragments are cut after the IP header.</summary>
    public long FragmentedDatagramsGivenUp { get; internal set; }
    /// <summary>Frames of link types the rewriter does not know, or not IP/ARP: written without content.</summary>
    public long FramesNotParsed { get; internal set; }
}
