using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using DuckDB.NET.Native;
using PcapDht.Pipeline;
using PcapDht.Store;
using static DuckDB.NET.Native.DuckDBType;

namespace PcapDht.Benchmarks.Store;

/// <summary>
/// <c>store-floor --rows-from DB [--layout current|narrow] [--values random|source] [--memory-limit L] [--out FILE] [--repeat N]</c> (scripts/bench-floor.sh, issue 17):
/// what DuckDB alone costs to store the rows an ingest stored, through the writer's own path with decoding free.
/// <para>
/// Reads the row counts of msg, node, node6, peer and malformed from DB (read-only), then into a fresh store
/// (<see cref="PcapDhtDatabase.Open(string)"/>: the real schema; the ingest's memory limit, or <c>--memory-limit</c>;
/// write-behind) appends as many rows per table as <see cref="NativeChunk"/>s through <see cref="TableAppender"/>
/// (<c>duckdb_append_data_chunk</c>), on two writer connections (<see cref="PcapDhtDatabase.OpenWriterConnection"/>)
/// and two threads as StoreSession's lanes do (msg + malformed; node + node6 + peer, interleaved in proportion),
/// each lane one transaction, then a CHECKPOINT. Timed: from the lanes' start to the end of the CHECKPOINT, wall
/// and process CPU time. The chunks are filled before, one row group (60 chunks) per table, and reused (the
/// appender copies them); only their frame_no and ts are rewritten per chunk so they keep increasing (that
/// rewrite, timed alone beforehand, is printed as head_s and is inside the figures).
/// </para>
/// <para>
/// <c>current</c>: <see cref="StoreColumns"/>'s tables. <c>narrow</c>: the narrowest full-detail store one could
/// argue for: msg = the 3 head columns + a STRUCT of 8 UBIGINT; node, node6 and peer = the 3 head columns + one
/// UINTEGER key into a node/peer dimension; malformed as today. Values: capture_id constant, frame_no and ts
/// increasing (sightings share their message's frame numbers), ids, addresses, keys and hashes pseudo-random
/// full-width (seeded), bit fields and counters (info, sizes, counts), rtt_us and byte offsets small, strings
/// short. With <c>current</c>, each nullable leaf is NULL in the share of rows it is NULL in DB.
/// <c>--values source</c> (<c>current</c> only): the chunks hold DB's first row group of each table instead, values
/// and NULLs as the ingest stored them (repeated), so DuckDB's compression sees what it saw then.
/// </para>
/// Not measured: decoding, row building, the capture row, rollups, the address index, process start-up and exit.
/// </summary>
public static class StoreFloorBench
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "store-floor";

    private const int PrefilledChunks = 60; // 122,880 rows: one DuckDB row group
    private const long FrameMicros = 10; // ts step per frame
    private static readonly long T0Micros = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000;

    private static readonly Column[] Head = [new("capture_id", Integer), new("frame_no", BigInt), new("ts", TimestampTz)];

    private static TableLayout Keyed(string table) => new(table, [.. Head, new Column("k", UnsignedInteger)]);

    private static readonly TableLayout[] Narrow =
    [
        new("msg", [.. Head, Column.Struct("d", [.. "abcdefgh".Select(c => new Column(c.ToString(), UnsignedBigInt))])]),
        Keyed("node"), Keyed("node6"), Keyed("peer"), StoreColumns.Malformed,
    ];

    private static readonly string[] MessageTables = ["msg", "malformed"];

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        string from = Arg("--rows-from") ?? throw new ArgumentException("store-floor needs --rows-from DB");
        string layout = Arg("--layout") ?? "current";
        var tables = layout switch
        {
            "current" => StoreColumns.All,
            "narrow" => Narrow,
            _ => throw new ArgumentException($"--layout {layout}: current or narrow"),
        };
        string values = Arg("--values") ?? "random";
        if (values is not ("random" or "source")) throw new ArgumentException($"--values {values}: random or source");
        if (values == "source" && layout != "current") throw new ArgumentException("--values source needs --layout current (the source rows have today's columns)");
        int repeat = int.Parse(Arg("--repeat") ?? "1", CultureInfo.InvariantCulture);
        string memoryLimit = Arg("--memory-limit") ?? PcapDhtDatabase.IngestMemoryLimit(1);
        string? outArg = Arg("--out");
        string path = Path.GetFullPath(outArg ?? $"store-floor-{Environment.ProcessId}.duckdb");
        if (File.Exists(path)) throw new IOException($"{path} exists: delete it first");

        var (rows, nulls) = ReadSource(from);
        using var source = values == "source" ? OpenReadOnly(from) : null;
        for (int i = 0; i < repeat; i++)
        {
            Delete(path);
            var r = RunOnce(path, tables, rows, new Filler(nulls, source), memoryLimit);
            long bytes = new FileInfo(path).Length;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"store-floor layout={layout} values={values} {string.Join(' ', tables.Select(t => $"{t.Table}={rows[t.Table]}"))} wall_s={r.Wall:F3} cpu_s={r.Cpu:F3} file_bytes={bytes} ")
                + string.Create(CultureInfo.InvariantCulture, $"lane_msg_s={r.LaneA:F3} lane_sightings_s={r.LaneB:F3} checkpoint_s={r.Checkpoint:F3} head_s={r.Head:F3} runq_wait_s={r.RunQueueWait:F3}"));
        }
        if (outArg == null) Delete(path);
        return 0;
    }

    /// <summary>The rows per table in the source store, and per nullable leaf of today's layout the share of its rows that are NULL.</summary>
    private static (Dictionary<string, long> Rows, Dictionary<string, double> Nulls) ReadSource(string from)
    {
        using var db = OpenReadOnly(from);
        var rows = new Dictionary<string, long>();
        var nulls = new Dictionary<string, double>();
        foreach (var t in StoreColumns.All)
        {
            var nullable = t.Leaves.Where(l => l.Nullable).Select(l => l.Name).ToArray();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT count(*){string.Concat(nullable.Select(n => $", count({n})"))} FROM pcapdht_store.{t.Table}";
            using var r = cmd.ExecuteReader();
            r.Read();
            long n = Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture);
            rows[t.Table] = n;
            for (int i = 0; i < nullable.Length; i++)
                nulls[$"{t.Table}.{nullable[i]}"] = n == 0 ? 0 : 1 - Convert.ToInt64(r.GetValue(i + 1), CultureInfo.InvariantCulture) / (double)n;
        }
        return (rows, nulls);
    }

    private static DuckDBConnection OpenReadOnly(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no database at {path}");
        var db = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
        db.Open();
        return db;
    }

    private readonly record struct Timings(double Wall, double Cpu, double LaneA, double LaneB, double Checkpoint, double Head, double RunQueueWait);

    private static Timings RunOnce(string path, TableLayout[] layouts, Dictionary<string, long> rows, Filler filler, string memoryLimit)
    {
        using var db = PcapDhtDatabase.Open(path);
        db.SetMemoryLimit(memoryLimit);
        if (layouts != StoreColumns.All)
        {
            // The narrow tables take the names of today's (TableAppender appends to pcapdht_store.<table>).
            foreach (var t in layouts.Where(t => t != StoreColumns.Malformed))
                Execute(db.Connection, $"DROP TABLE pcapdht_store.{t.Table}; {t.CreateTableSql()}");
        }
        Execute(db.Connection, "CHECKPOINT"); // the schema is on disk before the clock starts
        db.StartWriteBehind();

        var lanes = new[]
        {
            new Lane(db, layouts.Where(t => MessageTables.Contains(t.Table)), rows, filler),
            new Lane(db, layouts.Where(t => !MessageTables.Contains(t.Table)), rows, filler),
        };
        try
        {
            double head = lanes.Sum(l => l.TimeHeadRewrite());
            using var go = new ManualResetEventSlim();
            var threads = lanes.Select(l => new Thread(() => l.Run(go)) { Name = "store-floor" }).ToArray();
            foreach (var t in threads) t.Start();
            var cpu = CpuTime();
            var sw = Stopwatch.StartNew();
            go.Set();
            foreach (var t in threads) t.Join();
            foreach (var l in lanes)
                if (l.Error != null) throw new InvalidOperationException("a lane failed", l.Error);
            double appended = sw.Elapsed.TotalSeconds;
            double waited = RunQueueWait();
            Execute(db.Connection, "CHECKPOINT");
            sw.Stop();
            waited = RunQueueWait() - waited + lanes.Sum(l => l.RunQueueWaited);
            return new Timings(sw.Elapsed.TotalSeconds, (CpuTime() - cpu).TotalSeconds, lanes[0].Seconds, lanes[1].Seconds,
                sw.Elapsed.TotalSeconds - appended, head, waited);
        }
        finally
        {
            foreach (var l in lanes) l.Dispose();
        }
    }

    /// <summary>One writer connection, its tables' appenders and pre-filled chunks; appends every row in one transaction.</summary>
    private sealed class Lane : IDisposable
    {
        private readonly DuckDBConnection _connection;
        private readonly List<Table> _tables = [];
        private readonly long _messages;

        public Lane(PcapDhtDatabase db, IEnumerable<TableLayout> layouts, Dictionary<string, long> rows, Filler filler)
        {
            _connection = db.OpenWriterConnection();
            _messages = rows["msg"];
            foreach (var layout in layouts) _tables.Add(new Table(_connection, layout, rows[layout.Table], filler));
        }

        public double Seconds { get; private set; }
        public double RunQueueWaited { get; private set; }
        public Exception? Error { get; private set; }

        public void Run(ManualResetEventSlim go)
        {
            go.Wait();
            var sw = Stopwatch.StartNew();
            double waited = RunQueueWait();
            try
            {
                using var tx = _connection.BeginTransaction();
                AppendAll(append: true);
                foreach (var t in _tables) t.Appender.Flush();
                tx.Commit();
            }
            catch (Exception ex)
            {
                Error = ex;
            }
            Seconds = sw.Elapsed.TotalSeconds;
            RunQueueWaited = RunQueueWait() - waited;
        }

        /// <summary>Seconds of the per-chunk frame_no/ts rewrite alone (the same loop without appending).</summary>
        public double TimeHeadRewrite()
        {
            var sw = Stopwatch.StartNew();
            AppendAll(append: false);
            return sw.Elapsed.TotalSeconds;
        }

        // Tables take turns in proportion to their rows (the furthest behind goes next), as the encoder's chunks fill.
        private void AppendAll(bool append)
        {
            foreach (var t in _tables) t.Done = 0;
            while (true)
            {
                Table? next = null;
                foreach (var t in _tables)
                    if (t.Done < t.Rows && (next == null || (double)t.Done / t.Rows < (double)next.Done / next.Rows)) next = t;
                if (next == null) return;
                next.AppendChunk(_messages, append);
            }
        }

        public void Dispose()
        {
            foreach (var t in _tables) t.Dispose();
            _connection.Dispose();
        }
    }

    private sealed class Table : IDisposable
    {
        private readonly ChunkPool _pool;
        private readonly NativeChunk[] _chunks = new NativeChunk[PrefilledChunks];
        private int _turn;

        public Table(DuckDBConnection connection, TableLayout layout, long rows, Filler filler)
        {
            Rows = rows;
            _pool = new ChunkPool(layout);
            Appender = new TableAppender(connection, layout);
            for (int i = 0; i < _chunks.Length; i++) _chunks[i] = _pool.Rent();
            filler.Fill(_chunks);
        }

        public long Rows { get; }
        public long Done;
        public TableAppender Appender { get; }

        public unsafe void AppendChunk(long messages, bool append)
        {
            var c = _chunks[_turn++ % _chunks.Length];
            int n = (int)Math.Min(c.Capacity, Rows - Done);
            long* frame = c.Column<long>(StoreColumns.FrameNo, 0), ts = c.Column<long>(StoreColumns.Ts, 0);
            for (int r = 0; r < n; r++)
            {
                // The sightings of a message share its frame: row i of a table of R rows sits at frame i * messages / R.
                long f = messages == 0 ? Done + r : (Done + r) * messages / Rows;
                frame[r] = f + 1;
                ts[r] = T0Micros + f * FrameMicros;
            }
            Done += n;
            if (!append) return;
            c.Count = n;
            Appender.Append(c);
        }

        public void Dispose()
        {
            Appender.Dispose();
            _pool.Dispose();
        }
    }

    /// <summary>The values of the pre-filled chunks: seeded pseudo-random ones, or the source store's first rows.</summary>
    private sealed class Filler(Dictionary<string, double> nulls, DuckDBConnection? source)
    {
        private static readonly string[] SmallFields = ["d.info", "d.sizes", "d.counts", "d.rtt_us", "byte_offset", "ts_ns_frac"];
        private readonly Random _rng = new(17);

        public void Fill(NativeChunk[] chunks)
        {
            foreach (var c in chunks)
            {
                for (int row = 0; row < c.Capacity; row++) c.Set(StoreColumns.CaptureId, row, 1);
                c.Count = c.Capacity;
            }
            if (source == null || !FillFromSource(chunks))
                foreach (var c in chunks) FillRandom(c);
        }

        private void FillRandom(NativeChunk c)
        {
            var leaves = c.Layout.Leaves;
            Span<byte> payload = stackalloc byte[64];
            for (int leaf = StoreColumns.Ts + 1; leaf < leaves.Length; leaf++)
            {
                var l = leaves[leaf];
                double nullShare = l.Nullable ? nulls.GetValueOrDefault($"{c.Layout.Table}.{l.Name}") : 0;
                bool small = SmallFields.Contains(l.Name);
                for (int row = 0; row < c.Capacity; row++)
                {
                    if (nullShare > 0 && _rng.NextDouble() < nullShare)
                    {
                        c.SetNull(leaf, row);
                        continue;
                    }
                    switch (l.Type)
                    {
                        case UnsignedTinyInt: c.Set(leaf, row, (byte)_rng.Next(4)); break;
                        case UnsignedSmallInt: c.Set(leaf, row, (ushort)_rng.Next(small ? 1000 : 65536)); break;
                        case Integer: c.Set(leaf, row, _rng.Next(small ? 1500 : int.MaxValue)); break;
                        case UnsignedInteger: c.Set(leaf, row, (uint)_rng.NextInt64(1L << 32)); break;
                        case BigInt: c.Set(leaf, row, small ? _rng.Next(1_000_000) : _rng.NextInt64()); break;
                        case UnsignedBigInt: c.Set(leaf, row, small ? (ulong)_rng.Next(1 << 16) : Random64(_rng)); break;
                        case UnsignedHugeInt: c.Set(leaf, row, new UInt128(Random64(_rng), Random64(_rng))); break;
                        case Varchar: c.SetBytes(leaf, row, "{\"note\":\"a short JSON object of 48 bytes\"}  "u8); break;
                        case Blob:
                            _rng.NextBytes(payload);
                            c.SetBytes(leaf, row, payload);
                            break;
                        default: throw new ArgumentException($"{c.Layout.Table}.{l.Name}: no values for {l.Type}");
                    }
                }
            }
        }

        /// <summary>The table's first rows in the source store, in stored order, repeated if it has fewer; false when it has none.</summary>
        private bool FillFromSource(NativeChunk[] chunks)
        {
            var layout = chunks[0].Layout;
            var leaves = layout.Leaves.AsSpan(StoreColumns.Ts + 1).ToArray();
            string columns = string.Join(", ", leaves.Select(l => l.Type == UnsignedHugeInt ? $"{l.Name}::VARCHAR" : l.Name));
            int capacity = chunks[0].Capacity, total = chunks.Length * capacity, filled = 0;
            while (filled < total)
            {
                using var cmd = source!.CreateCommand();
                cmd.CommandText = string.Create(CultureInfo.InvariantCulture, $"SELECT {columns} FROM pcapdht_store.{layout.Table} LIMIT {total - filled}");
                using var r = cmd.ExecuteReader();
                int before = filled;
                for (; r.Read(); filled++)
                {
                    var c = chunks[filled / capacity];
                    int row = filled % capacity;
                    for (int i = 0; i < leaves.Length; i++)
                    {
                        int leaf = StoreColumns.Ts + 1 + i;
                        if (r.IsDBNull(i))
                        {
                            c.SetNull(leaf, row);
                            continue;
                        }
                        switch (leaves[i].Type)
                        {
                            case UnsignedTinyInt: c.Set(leaf, row, r.GetFieldValue<byte>(i)); break;
                            case UnsignedSmallInt: c.Set(leaf, row, r.GetFieldValue<ushort>(i)); break;
                            case Integer: c.Set(leaf, row, r.GetFieldValue<int>(i)); break;
                            case UnsignedInteger: c.Set(leaf, row, r.GetFieldValue<uint>(i)); break;
                            case BigInt: c.Set(leaf, row, r.GetFieldValue<long>(i)); break;
                            case UnsignedBigInt: c.Set(leaf, row, r.GetFieldValue<ulong>(i)); break;
                            case UnsignedHugeInt: c.Set(leaf, row, UInt128.Parse(r.GetString(i), CultureInfo.InvariantCulture)); break;
                            case Varchar: c.SetBytes(leaf, row, System.Text.Encoding.UTF8.GetBytes(r.GetString(i))); break;
                            case Blob:
                                using (var s = r.GetStream(i))
                                using (var m = new MemoryStream())
                                {
                                    s.CopyTo(m);
                                    c.SetBytes(leaf, row, m.ToArray());
                                }
                                break;
                            default: throw new ArgumentException($"{layout.Table}.{leaves[i].Name}: no values for {leaves[i].Type}");
                        }
                    }
                }
                if (filled == before) return false;
            }
            return true;
        }
    }

    private static ulong Random64(Random rng) => (ulong)rng.NextInt64(long.MinValue, long.MaxValue);

    /// <summary>
    /// Seconds the calling thread has spent runnable but waiting for a CPU (Linux schedstat; 0 elsewhere): printed
    /// summed over the lanes and the CHECKPOINT as runq_wait_s, so a run slowed by other jobs on the machine shows it.
    /// </summary>
    private static double RunQueueWait()
    {
        const string Stat = "/proc/thread-self/schedstat";
        return File.Exists(Stat) ? long.Parse(File.ReadAllText(Stat).Split(' ')[1], CultureInfo.InvariantCulture) / 1e9 : 0;
    }

    private static TimeSpan CpuTime()
    {
        using var p = Process.GetCurrentProcess();
        return p.TotalProcessorTime;
    }

    private static void Delete(string path)
    {
        File.Delete(path);
        File.Delete(path + ".wal");
    }

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
