using System.Globalization;
using PcapDht.Capture;
using PcapDht.Ingest;
using PcapDht.Krpc;
using PcapDht.Live;
using PcapDht.Net;
using PcapDht.Store;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Live;

/// <summary>
/// The real binary (<c>ip netns exec NS dotnet pcapdht.dll sniff -i lo</c>) against a libtorrent DHT swarm on a
/// private namespace's loopback, checked against tcpdump recording the same interface at the same time.
/// </summary>
public class SniffNetnsTests
{
    private static string RepoSwarm => Path.Combine(RepoRoot(), "scripts", "swarm", "run-swarm.sh");

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "PcapDht.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root (PcapDht.sln) not found above " + AppContext.BaseDirectory);
    }

    [RepoSwarmFact]
    public void Sniff_SigtermWithQueryDuringRun_CompleteAndAgreesWithIngestOfTcpdump()
    {
        using var ns = new NetNs();
        using var dir = new TempDir();
        string db = Path.Combine(dir.Path, "live.duckdb"), refDb = Path.Combine(dir.Path, "tcpdump.duckdb");
        string pcap = Path.Combine(dir.Path, "tcpdump.pcap");
        using var tcpdump = LiveSessionNetnsTests.StartTcpdump(ns, pcap, LiveCaptureOptions.DefaultFilter);
        using var sniff = LiveProcess.Pcapdht(ns.Exec, "sniff", "-i", "lo", "--db", db, "--flush-interval", "500ms");
        WaitForCapture(db, sniff);
        // The shared swarm: libtorrent and webtorrent nodes over IPv4 and IPv6, MTU 1280 so big replies fragment.
        using var swarm = LiveProcess.Start([], "env", ["LT_NODES=8", "LT_READ_ONLY=1", "WT_V4=3", "WT_V6=2", RepoSwarm, ns.Name, "4"]);

        // Queryable while running: rows appear while the sniffer is still alive, and opening the file does not
        // mistake the live capture (between flushes) for an interrupted one.
        long during = 0;
        string status = "";
        bool swarmRanOn = false;
        for (int i = 0; i < 100 && during == 0; i++)
        {
            Thread.Sleep(200);
            var rows = QueryCli(db, "SELECT count(*) AS n, (SELECT status FROM captures) AS status FROM messages");
            during = long.Parse(rows[0], CultureInfo.InvariantCulture);
            status = rows[1];
            // On a loaded machine the query can come back after the swarm is done and everything is flushed: then
            // "more rows at the end than during the run" has nothing left to show.
            swarmRanOn = !swarm.HasExited;
        }
        Assert.False(sniff.HasExited, "sniff ended early: " + sniff.Stderr);
        Assert.True(during > 0, "pcapdht query saw no messages during the run");
        Assert.Equal("running", status);

        Assert.True(swarm.WaitExit(TimeSpan.FromMinutes(2)) == 0, "run-swarm.sh failed: " + swarm.Stderr);
        Thread.Sleep(300);
        sniff.Signal("TERM");
        Assert.Equal(0, sniff.WaitExit(TimeSpan.FromSeconds(60)));
        LiveSessionNetnsTests.StopTcpdump(tcpdump, pcap);

        // SIGTERM: everything flushed, session complete, libpcap counters stored.
        Ingest(pcap, refDb);
        using var live = new Db(db);
        using var reference = new Db(refDb);
        Assert.Equal("complete", live.Text("SELECT status FROM captures"));
        long total = live.Scalar("SELECT count(*) FROM messages");
        Assert.True(swarmRanOn ? total > during : total >= during, $"{total} messages at the end, {during} during the run (the swarm still ran after that query: {swarmRanOn})");
        Assert.Equal(total, live.Scalar("SELECT krpc_messages FROM captures"));
        Assert.Contains($"{total.ToString("N0", CultureInfo.InvariantCulture)} KRPC messages", sniff.Stderr);
        Assert.Equal(0, live.Scalar("SELECT pcap_dropped FROM captures"));
        // After the last flush sniff brings the address index up to date, as ingest does: reports read it, not the rollups.
        Assert.Matches(@"sniff: address index (built|merged) in \d+\.\d s", sniff.Stderr);
        Assert.True(live.IndexCurrent, "the address index does not match the store after sniff");
        Assert.True(live.Scalar("SELECT pcap_received FROM captures") >= live.Scalar("SELECT frames FROM captures"));

        // The same traffic recorded by tcpdump and ingested: identical over the time both covered.
        long first = live.Scalar("SELECT min(ts_ns) FROM messages"), last = live.Scalar("SELECT max(ts_ns) FROM messages");
        string range = $"ts_ns BETWEEN {first} AND {last}";
        Assert.Equal(total, reference.Scalar($"SELECT count(*) FROM messages WHERE {range}"));
        Assert.Equal(reference.Rows($"SELECT y, method, count(*) FROM messages WHERE {range} GROUP BY ALL ORDER BY ALL"),
            live.Rows("SELECT y, method, count(*) FROM messages GROUP BY ALL ORDER BY ALL"));
        Assert.True(live.Scalar("SELECT count(*) FROM messages WHERE src_ip LIKE '%:%'") > 0, "no IPv6 KRPC from the swarm");
        string usRange = $"epoch_us(ts) BETWEEN {first / 1000} AND {last / 1000}";
        long sightings = live.Scalar("SELECT count(*) FROM node_sightings");
        Assert.True(sightings > 0);
        Assert.Equal(sightings, reference.Scalar($"SELECT count(*) FROM node_sightings WHERE {usRange}"));
        Assert.Equal(reference.Scalar($"SELECT count(DISTINCT node_id) FROM node_sightings WHERE {usRange}"),
            live.Scalar("SELECT count(DISTINCT node_id) FROM node_sightings"));
    }

    [SwarmFact]
    public void Sniff_Kill9MidRun_DatabaseOpensWithFlushedRowsAndSessionInterrupted()
    {
        using var ns = new NetNs();
        using var dir = new TempDir();
        string db = Path.Combine(dir.Path, "live.duckdb");
        using var sniff = LiveProcess.Pcapdht(ns.Exec, "sniff", "-i", "lo", "--db", db, "--flush-interval", "300ms");
        WaitForCapture(db, sniff);
        using var swarm = LiveProcess.Start(ns.Exec, "/usr/bin/python3", [LiveSessionNetnsTests.SwarmScript, "6", "20"]);
        long committed = 0;
        for (int i = 0; i < 150 && committed < 200; i++)
        {
            Thread.Sleep(100);
            committed = Scalar(db, "SELECT krpc_messages FROM captures");
        }
        Assert.True(committed >= 200, $"only {committed} messages committed before the kill");
        sniff.Signal("KILL");
        sniff.WaitExit(TimeSpan.FromSeconds(20));

        // The next command (here a read-only query) repairs the session; every committed row is still there.
        Assert.Equal("interrupted", QueryCli(db, "SELECT status FROM captures")[0]);
        using var after = new Db(db);
        Assert.Equal("interrupted", after.Text("SELECT status FROM captures"));
        long rows = after.Scalar("SELECT count(*) FROM messages");
        Assert.True(rows >= committed, $"{rows} rows after the kill, {committed} seen committed before");
        Assert.Equal(rows, after.Scalar("SELECT krpc_messages FROM captures"));
        Assert.Equal(after.Scalar("SELECT node_sightings FROM captures"), after.Scalar("SELECT count(*) FROM node_sightings"));
    }

    /// <summary>Waits until the sniffer has recorded its capture row (it is then capturing).</summary>
    private static void WaitForCapture(string db, LiveProcess sniff)
    {
        for (int i = 0; i < 300; i++)
        {
            if (sniff.HasExited) Assert.Fail("sniff exited: " + sniff.Stderr);
            if (File.Exists(db) && Scalar(db, "SELECT count(*) FROM captures WHERE status = 'running'") == 1) return;
            Thread.Sleep(100);
        }
        Assert.Fail("sniff did not start: " + sniff.Stderr);
    }

    /// <summary>`pcapdht query --format csv`: the cells of the first data row.</summary>
    private static string[] QueryCli(string db, string sql)
    {
        var o = CliRunner.Run(["query", sql, "--db", db, "--format", "csv"], timeout: TimeSpan.FromMinutes(1));
        Assert.True(o.ExitCode == 0, $"pcapdht query failed ({o.ExitCode}): {o.Stderr}");
        var lines = o.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length >= 2, "no row from pcapdht query: " + o.Stdout);
        return lines[1].Split(',');
    }

    private static long Scalar(string db, string sql)
    {
        using var d = new Db(db);
        return d.Scalar(sql);
    }

    private static string? Text(string db, string sql)
    {
        using var d = new Db(db);
        return d.Text(sql);
    }

    /// <summary>One open of the database (through the store, so recovery runs as it would for any command).</summary>
    private sealed class Db(string path) : IDisposable
    {
        private readonly PcapDhtDatabase _db = PcapDhtDatabase.Open(path);

        private object? Query(string sql)
        {
            using var cmd = _db.Connection.CreateCommand();
            cmd.CommandText = sql;
            return cmd.ExecuteScalar();
        }

        public long Scalar(string sql) => Query(sql) is { } v and not DBNull ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : 0;

        public bool IndexCurrent => AddressIndex.Current(_db.Connection) is not null;

        public string? Text(string sql) => Query(sql)?.ToString();

        public List<string> Rows(string sql)
        {
            using var cmd = _db.Connection.CreateCommand();
            cmd.CommandText = sql;
            using var r = cmd.ExecuteReader();
            var rows = new List<string>();
            while (r.Read())
            {
                var cells = new string[r.FieldCount];
                for (int i = 0; i < cells.Length; i++) cells[i] = Convert.ToString(r.GetValue(i), CultureInfo.InvariantCulture) ?? "";
                rows.Add(string.Join('|', cells));
            }
            return rows;
        }

        public void Dispose() => _db.Dispose();
    }

    /// <summary>The ingest path (reader → the capture pipeline → store session) over tcpdump's file.</summary>
    private static void Ingest(string pcap, string db)
    {
        using var d = PcapDhtDatabase.Open(db);
        Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(d).IngestFile(pcap).Outcome);
    }
}
