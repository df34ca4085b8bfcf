using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

/// <summary>
/// Reads a synthetic capture back through the project's own CaptureReader, PacketDecoder (IP
/// reassembly) and KrpcDecoder, and checks the counts the ground truth promises.
/// </summary>
public class SynthPipelineTests
{
    [Theory]
    [InlineData(SynthFormat.Pcap)]
    [InlineData(SynthFormat.PcapNg)]
    public void ProjectDecoders_RecountCapture_AgreeWithGroundTruth(SynthFormat format)
    {
        var dir = SynthTestSupport.TempDir();
        try
        {
            string path = Path.Combine(dir, format == SynthFormat.Pcap ? "p.pcap" : "p.pcapng");
            var table = SynthTestSupport.LoadFixture();
            SynthTruth truth;
            using (var fs = File.Create(path))
                truth = SynthGenerator.Generate(new SynthOptions
                {
                    Seed = 31, Packets = 15_000, FragmentShare = 0.05, MalformedShare = 0.01, Format = format,
                }, table, fs);

            long krpc = 0, malformed = 0, malformedWin = 0, newest = 0;
            var ips = new HashSet<IpAddr>();
            var senders = new HashSet<IpAddr>();
            var reasons = new SortedDictionary<KrpcErrorReason, long>();
            var decoder = new PacketDecoder();
            using (var reader = CaptureReader.Open(path))
            {
                while (reader.TryRead(out var frame))
                {
                    if (!decoder.TryDecode(frame, out var dgram)) continue;
                    long tsUs = dgram.TimestampNs / 1000;
                    bool inWindow = tsUs >= truth.WindowStartUs && tsUs <= truth.WindowEndUs;
                    var result = KrpcDecoder.Decode(dgram.Payload, out var m, out var error);
                    if (result == KrpcDecodeResult.Malformed)
                    {
                        malformed++;
                        if (inWindow) malformedWin++;
                        reasons[error.Reason] = reasons.GetValueOrDefault(error.Reason) + 1;
                        continue;
                    }
                    if (result != KrpcDecodeResult.Message) continue;
                    krpc++;
                    if (m.Kind == KrpcKind.Error) continue;
                    newest = Math.Max(newest, tsUs);
                    if (!inWindow) continue;
                    ips.Add(dgram.Source);
                    senders.Add(dgram.Source);
                    foreach (var n in CompactLists.Nodes(m.Nodes)) ips.Add(n.Address);
                    foreach (var n in CompactLists.Nodes6(m.Nodes6)) ips.Add(n.Address);
                }
                Assert.Null(reader.Damage);
            }
            decoder.Finish();

            Assert.Equal(truth.Frames, decoder.Counters.Frames);
            Assert.Equal(truth.FragmentFrames, decoder.Counters.Fragments);
            Assert.Equal(truth.FragmentedDatagrams, decoder.Counters.Reassembled);
            Assert.Equal(truth.UdpDatagrams, decoder.Counters.UdpDatagrams);
            Assert.Equal(0, decoder.Counters.ReassemblyDropped);
            Assert.Equal(truth.KrpcMessages, krpc);
            Assert.Equal(truth.Malformed, malformed);
            Assert.Equal(truth.MalformedInWindow, malformedWin);
            Assert.Equal(truth.WindowEndUs, newest);
            Assert.Equal(truth.DistinctIps, ips.Count);
            Assert.Equal(truth.DistinctSenderIps, senders.Count);
            foreach (var a in truth.Asns)
            {
                Assert.Equal(a.SenderIps, senders.Count(i => SynthTestSupport.Lookup(table, i)!.Value.Asn == a.Asn));
                Assert.Equal(a.Ips, ips.Count(i => SynthTestSupport.Lookup(table, i)!.Value.Asn == a.Asn));
            }
            Assert.True(reasons.ContainsKey(KrpcErrorReason.MissingTransactionId), string.Join(",", reasons.Keys));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
