using PcapDht.Capture;

namespace PcapDht.Anonymize;

/// <summary>
/// Rewrites a capture with every IP address mapped by Crypto-PAn (see <see cref="PacketRewriter"/>
/// for what is rewritten and <c>docs/privacy.md</c> for what that protects). Streams: frames are
/// written in input order as soon as no fragment in or before them waits for the rest of its
/// datagram, so memory stays bounded by <see cref="AnonymizeOptions.MaxHeldBytes"/> whatever the
/// capture's size. The output container follows the input's (pcap stays pcap with its timestamp
/// precision; pcapng becomes one section with an interface per link type and nanosecond times),
/// and frame numbers, timestamps and original lengths stay.
/// </summary>
public sealed class CaptureAnonymizer : IDisposable
{
    private readonly AnonymizeOptions _options;
    private readonly AddressAnonymizer _mapper;
    private readonly FragmentHold _hold;
    private readonly PacketRewriter _rewriter;
    private readonly Queue<HeldFrame> _queue = new();
    private readonly Stack<HeldFrame> _free = new();
    private long _heldBytes;

    public CaptureAnonymizer(AnonymizationKey key, AnonymizeOptions options)
    {
        options.Validate();
        _options = options;
        _mapper = new AddressAnonymizer(key);
        _hold = new FragmentHold(options, Counters);
        _rewriter = new PacketRewriter(_mapper, options, Counters, _hold);
        _hold.Rewriter = _rewriter;
    }

    public AnonymizeCounters Counters { get; } = new();

    /// <summary>The container <paramref name="reader"/>'s capture is rewritten into.</summary>
    public static bool WritesPcapNg(CaptureReader reader) => reader.Format == CaptureFormat.PcapNg;

    /// <summary>
    /// Reads every frame of <paramref name="reader"/> and writes it, rewritten, to <paramref name="output"/>.
    /// Damage in the input ends the run after everything before it was written (see <see cref="CaptureReader.Damage"/>).
    /// </summary>
    /// <param name="progress">Called about every 4096 frames with the reader (for a progress display).</param>
    public void Run(CaptureReader reader, Stream output, CancellationToken cancellationToken = default, Action<CaptureReader>? progress = null)
    {
        CaptureFileWriter? writer = WritesPcapNg(reader) ? CaptureFileWriter.PcapNg(output) : null;
        bool nanosecond = reader.Format == CaptureFormat.PcapNanosecond;
        while (reader.TryRead(out var frame))
        {
            if ((Counters.FramesRead & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Invoke(reader);
            }
            Counters.FramesRead++;
            writer ??= CaptureFileWriter.Pcap(output, frame.LinkType, nanosecond);
            var held = _free.Count > 0 ? _free.Pop() : new HeldFrame();
            held.Load(frame.TimestampNs, frame.LinkType, frame.OriginalLength, frame.Data);
            _rewriter.RewriteFrame(held);
            _queue.Enqueue(held);
            _heldBytes += held.Length;
            _hold.Expire(frame.TimestampNs);
            // Over the byte limit, the datagram the oldest frame waits for is given up so that frame can go.
            while (_heldBytes > _options.MaxHeldBytes && _queue.Peek() is { PendingFragments: > 0, Pending: { } waiting })
            {
                _hold.GiveUp(waiting);
                Drain(writer);
            }
            Drain(writer);
        }
        // An empty pcap still gets a header (Ethernet: the link type of a file without frames is unknown).
        writer ??= CaptureFileWriter.Pcap(output, 1, nanosecond);
        _hold.GiveUpAll();
        Drain(writer);
        Counters.DistinctAddresses = _mapper.Computed;
        progress?.Invoke(reader);
    }

    private void Drain(CaptureFileWriter writer)
    {
        while (_queue.TryPeek(out var head) && head.PendingFragments == 0)
        {
            _queue.Dequeue();
            writer.Write(head.TimestampNs, head.LinkType, head.OriginalLength, head.Data.AsSpan(0, head.Keep));
            Counters.FramesWritten++;
            if (head.Keep < head.Length) Counters.FramesCut++;
            if (head.NotParsed) Counters.FramesNotParsed++;
            _heldBytes -= head.Length;
            _free.Push(head);
        }
    }

    public void Dispose() => _mapper.Dispose();
}
