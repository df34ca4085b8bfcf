using PcapDht.Anonymize;
using PcapDht.Capture;
using static PcapDht.Fuzz.CaptureTarget;

namespace PcapDht.Fuzz;

/// <summary>
/// The anonymizer's packet rewriter (every link layer, tunnels, ICMP quotes, ARP, fragments, KRPC address
/// fields) over a capture, framed like the capture target (first byte: compression and read size). The output
/// must be a capture that reads back without damage, frame for frame (every frame read is written); any
/// exception is a finding.
/// </summary>
public static class AnonymizeTarget
{
    private static readonly AnonymizationKey Key = AnonymizationKey.FromBytes(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private static readonly AnonymizeOptions Options = new() { MaxHeldBytes = 1 << 20, MaxPendingDatagrams = 8 };

    public static void Check(byte[] data)
    {
        if (OpenFramed(data) is not { } reader) return;
        var output = new MemoryStream();
        long read, written;
        using (reader)
        using (var anonymizer = new CaptureAnonymizer(Key, Options))
        {
            anonymizer.Run(reader, output);
            read = anonymizer.Counters.FramesRead;
            written = anonymizer.Counters.FramesWritten;
            Require(reader.FramesRead == read, $"read {reader.FramesRead} frames, counted {read}");
        }
        Require(read == written, $"{read} frames read, {written} written");
        using var back = CaptureReader.Open(new MemoryStream(output.ToArray(), writable: false), "anonymized");
        long again = 0;
        while (back.TryRead(out _)) again++;
        Require(back.Damage == null, $"the anonymized capture is damaged: {back.Damage}");
        Require(again == written, $"{written} frames written, {again} read back");
    }
}
