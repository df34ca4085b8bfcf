using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Store;

namespace PcapDht.Ingest;

/// <summary>
/// The per-frame step of the pipeline, shared by <c>ingest</c> (files) and <c>sniff</c> (live capture), so
/// both store exactly the same rows for the same frames: frame → UDP datagram (PacketDecoder, with
/// reassembly) → KRPC (KrpcDecoder) → rows (CaptureWriter).
/// </summary>
public static class FrameStep
{
    /// <summary>Processes one frame; true when it completed a valid KRPC message.</summary>
    /// <param name="senderIdHigh">The first 16 bytes of that message's sender id (0 when it has none).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Process(PacketDecoder decoder, CaptureWriter writer, in Frame frame, out UInt128 senderIdHigh)
    {
        senderIdHigh = 0;
        if (!decoder.TryDecode(frame, out var datagram)) return false;
        scoped KrpcMessage message = default;
        switch (KrpcDecoder.DecodeInto(datagram.Payload, ref message, out var error))
        {
            case KrpcDecodeResult.Message:
                writer.Add(datagram, message);
                if (message.NodeId.Length == 20) senderIdHigh = BinaryPrimitives.ReadUInt128BigEndian(message.NodeId);
                return true;
            case KrpcDecodeResult.Malformed:
                writer.AddMalformed(datagram, error.Description, error.Offset);
                return false;
            default:
                writer.Stats.NotKrpc++;
                return false;
        }
    }
}
