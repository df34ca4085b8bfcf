using System.Text;
using PcapDht.Cli;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>
/// Issue 19 #9: where the docs and the behaviour disagreed, the behaviour now does what the docs say (and the docs
/// say what BEP 5 says): an announce_peer port outside 0–65535 is kept (docs/schema.md: in `extra`, shown by
/// messages.port), and an `e` list without a code and a message is malformed like one with the wrong types.
/// </summary>
public sealed class DocumentedBehaviourTests
{
    private static byte[] AnnouncePeer(int i, long port) => Encoding.ASCII.GetBytes(
        $"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti{port}e5:token8:aoeusnthe1:q13:announce_peer1:t2:{i:D2}1:y1:qe");

    [Fact]
    public void AnnouncePortOutOfRange_IsKeptInExtraAndShown()
    {
        using var dir = new TempDir();
        long[] ports = [6881, 70_000, -5, 1L << 40];
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), ports.Length, i => AnnouncePeer(i, ports[i]));
        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["ingest", "a.pcap", "--db", "t.duckdb"], dir.Path).ExitCode);

        var o = CliRunner.Run(["query", "SELECT port, json_extract_string(d.extra, '$.port') AS kept FROM messages m JOIN pcapdht_store.msg s USING (capture_id, frame_no) ORDER BY frame_no", "--db", "t.duckdb", "--format", "csv"], dir.Path);

        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Equal("port,kept\n6881,\n70000,70000\n-5,-5\n,1099511627776", o.Stdout.Trim().ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("le")]
    [InlineData("li201ee")]
    [InlineData("li201ei5ee")]
    [InlineData("l5:helloe")]
    public void ErrorListWithoutCodeAndMessage_IsMalformed(string list)
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("e.pcap"), 2, i => Encoding.ASCII.GetBytes(
            i == 0 ? $"d1:e{list}1:t2:aa1:y1:ee" : "d1:eli201e23:A Generic Error Ocurrede1:t2:ab1:y1:ee"));
        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["ingest", "e.pcap", "--db", "t.duckdb"], dir.Path).ExitCode);
        using var db = PcapDht.Store.PcapDhtDatabase.Open(dir.File("t.duckdb"));
        Assert.Equal("e is not [code, message]", Sql.String(db.Connection, "SELECT reason FROM malformed_krpc"));
        Assert.Equal(1, Sql.Long(db.Connection, "SELECT count(*) FROM messages WHERE y = 'e' AND error_code = 201"));
    }
}
