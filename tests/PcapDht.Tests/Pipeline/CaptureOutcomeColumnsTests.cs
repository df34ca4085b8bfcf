using PcapDht.Capture;
using PcapDht.Ingest;
using PcapDht.Net;
using PcapDht.Store;
using PcapDht.Tests.Net;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Pipeline;

/// <summary>
/// Issue 19 #5, as the user sees it: every frame ends in exactly one outcome and <c>captures</c> shows every
/// outcome, so <c>frames</c> equals the sum of the outcome columns for every capture ingested. Before, the
/// fragment outcomes (held, overlapping, over the byte limit) had no column: a capture of fragments did not add up.
/// </summary>
public sealed class CaptureOutcomeColumnsTests
{
    /// <summary>Outcome name (<see cref="NetCounters.Outcomes"/>) → its <c>captures</c> column.</summary>
    private static readonly Dictionary<string, string> Columns = new()
    {
        ["udp_datagrams"] = "udp_datagrams",
        ["non_ip"] = "non_ip_frames",
        ["non_udp"] = "non_udp_packets",
        ["truncated"] = "truncated_frames",
        ["malformed_ip"] = "malformed_ip",
        ["malformed_udp"] = "malformed_udp",
        ["unknown_link_type"] = "unknown_link_type_frames",
        ["fragments_held"] = "fragments_held",
        ["duplicate_fragments"] = "duplicate_fragments",
        ["malformed_fragments"] = "malformed_fragments",
        ["overlapping_fragments"] = "overlapping_fragments",
        ["fragments_over_limit"] = "fragments_over_limit",
    };

    [Fact]
    public void EveryOutcome_HasACapturesColumn()
    {
        Assert.Equal(new NetCounters().Outcomes().Select(o => o.Key).Order(), Columns.Keys.Order());
    }

    [Fact]
    public void EverySampleAndCraftedCapture_FramesEqualTheSumOfItsOutcomeColumns()
    {
        using var dir = new TempDir();
        string crafted = dir.File("crafted.pcapng");
        File.WriteAllBytes(crafted, NetOutcomeTests.CraftedCapture().Capture);
        var files = NetOutcomeTests.AllCapturePaths().Append(crafted).ToList();

        string dbPath = dir.File("outcomes.duckdb");
        using var db = PcapDhtDatabase.Open(dbPath);
        // A file whose bytes another one has (a fixture copied) is skipped: its content is checked as that one.
        var results = new IngestPipeline(db).IngestFiles(files);
        foreach (var r in results)
            Assert.True(r.Outcome is IngestOutcome.Ingested or IngestOutcome.Partial or IngestOutcome.Skipped, $"{r.Path}: {r.Outcome} {r.Error}");

        string sum = string.Join(" + ", Columns.Values);
        int checkedCaptures = 0;
        foreach (var r in results.Where(r => r.CaptureId != null))
        {
            var row = Sql.Rows(db.Connection, $"SELECT frames, {sum}, {string.Join(", ", Columns.Values)} FROM captures WHERE capture_id = {r.CaptureId}")
                .Single().Select(Convert.ToInt64).ToArray();
            Assert.True(row[0] > 0, r.Path);
            Assert.True(row[0] == row[1], $"{r.Path}: frames {row[0]}, sum of the outcome columns {row[1]}");

            // And each column is what the decoder counts for that file (default reassembly limits, as ingest uses).
            var expected = Decode(r.Path);
            int i = 2;
            foreach (var (outcome, _) in Columns) Assert.True(expected[outcome] == row[i++], $"{r.Path}: {outcome}");
            checkedCaptures++;
        }
        Assert.True(checkedCaptures >= 10, $"only {checkedCaptures} captures were stored");
        Assert.Contains(results, r => r.Path == crafted && r.CaptureId != null);
        // The crafted capture holds each kind of fragment outcome (the byte-limit one needs lower limits: NetOutcomeTests).
        Assert.Equal(0, Sql.Long(db.Connection, $"SELECT count(*) FROM captures WHERE source LIKE '%crafted.pcapng' AND (fragments_held = 0 OR overlapping_fragments = 0 OR duplicate_fragments = 0 OR malformed_fragments = 0)"));
    }

    private static Dictionary<string, long> Decode(string path)
    {
        using var reader = CaptureReader.Open(path);
        var decoder = new PacketDecoder();
        while (reader.TryRead(out var frame)) decoder.TryDecode(frame, out _);
        decoder.Finish();
        return decoder.Counters.Outcomes().ToDictionary(o => o.Key, o => o.Value);
    }
}
