using System.Buffers.Binary;
using PcapDht.Capture;
using PcapDht.Net;
using static PcapDht.Fuzz.CaptureTarget;

namespace PcapDht.Fuzz;

/// <summary>
/// The link-layer and IP decoders and the fragment reassembler, over a sequence of frames. The input is a
/// list of records: link-type selector (1 byte), flags (1 byte: bit 0 the snap length cut the frame, bits 1–3
/// the time step to the previous frame), length (2 bytes, little-endian) and the frame. Small reassembly
/// limits (8 datagrams, 20 000 bytes, 30 s) make eviction, the byte limit and timeouts reachable. Throws when a
/// frame ends in no outcome counter or in two, when the reassembler holds more than its limits, when a
/// datagram belongs to another frame or is larger than UDP allows, or when state survives Finish().
/// </summary>
public static class NetTarget
{
    private static readonly ReassemblyLimits Limits = new(8, 20_000, 30_000_000_000L);

    // Every link type the decoder knows, and two it does not (an unknown one must be counted, not lost).
    private static readonly int[] LinkTypes =
    [
        PacketDecoder.LinkEthernet, PacketDecoder.LinkRaw, PacketDecoder.LinkIPv4, PacketDecoder.LinkIPv6,
        PacketDecoder.LinkLinuxSll, PacketDecoder.LinkLinuxSll2, PacketDecoder.LinkNull, PacketDecoder.LinkLoop,
        PacketDecoder.LinkPpp, PacketDecoder.LinkPppHdlc, PacketDecoder.LinkPppEther, PacketDecoder.LinkCiscoHdlc,
        PacketDecoder.LinkRawOld12, PacketDecoder.LinkRawOld14, 147, 65535,
    ];

    private static readonly long[] Steps = [0, 1_000, 1_000_000, 1_000_000_000, 20_000_000_000, 61_000_000_000, -1_000_000_000, 0];

    public static void Check(byte[] data)
    {
        var decoder = new PacketDecoder(Limits);
        var input = data.AsSpan();
        long number = 0;
        long ts = 1_700_000_000_000_000_000;
        while (input.Length >= 4)
        {
            int link = LinkTypes[input[0] % LinkTypes.Length];
            byte flags = input[1];
            int length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(input[2..]), input.Length - 4);
            var bytes = input.Slice(4, length);
            input = input[(4 + length)..];
            ts += Steps[(flags >> 1) & 7];
            int original = (flags & 1) != 0 ? length + 1 + (flags >> 4) * 100 : length;
            var frame = new Frame(++number, ts, link, original, bytes);
            if (decoder.TryDecode(frame, out var datagram))
            {
                Require(datagram.FrameNumber == number, $"datagram of frame {datagram.FrameNumber} from frame {number}");
                Require(datagram.TimestampNs == ts, "datagram with another frame's time");
                Require(datagram.Payload.Length <= 65535 - 8, $"datagram of {datagram.Payload.Length} bytes");
            }
            var c = decoder.Counters;
            Require(c.Frames == number, "frames miscounted");
            Require(c.Frames == c.OutcomeTotal, $"frame {number} not in exactly one outcome: {c}");
            Require(c.Fragments <= c.Frames, "more fragments than frames");
            Require(decoder.PendingReassembly <= Limits.MaxDatagrams, $"{decoder.PendingReassembly} datagrams pending");
            Require(decoder.PendingReassemblyBytes <= Limits.MaxBytes, $"{decoder.PendingReassemblyBytes} bytes pending");
        }
        decoder.Finish();
        Require(decoder.PendingReassembly == 0 && decoder.PendingReassemblyBytes == 0, "reassembly state left after Finish");
        var n = decoder.Counters;
        Require(n.Reassembled + n.ReassemblyDropped <= n.Fragments, $"more datagrams settled than fragments seen: {n}");
    }
}
