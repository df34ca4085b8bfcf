using System.Diagnostics;
using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Store;

namespace PcapDht.Benchmarks.Store;

/// <summary>
/// Helpers of scripts/bench-rollups.sh (issue 15's rollup and storage benchmarks):
/// <list type="bullet">
/// <item><c>rollup-store --from STORE --to FILE</c>: a store holding the rollups of STORE and nothing else —
/// its captures, no detail rows — computed by <see cref="RollupSchema.InsertFromStore"/> over every detail row
/// (what `prune --keep-detail 0` leaves, until ingest maintains rollups and prune exists). The detail store is
/// only read, so its size and timings stay as ingest left them.</item>
/// <item><c>store-bytes --db FILE [--name LABEL]</c>: where the bytes of a store are, per table and per column
/// (struct fields apart), from <c>pragma_storage_info</c>: a segment's bytes are the distance to the next
/// segment's offset in its block (the last one in a block: to the block's end), plus whole extra blocks. Then
/// the node dimension table estimate: node-list sightings against distinct (address, port, id).</item>
/// </list>
/// </summary>
public static class RollupStoreBench
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] is "rollup-store" or "store-bytes";

    public static int Run(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        if (args[0] == "rollup-store")
        {
            string from = Arg("--from") ?? throw new ArgumentException("rollup-store needs --from STORE");
            string to = Arg("--to") ?? throw new ArgumentException("rollup-store needs --to FILE");
            BuildRollupStore(from, to, Arg("--tables")?.Split(','));
        }
        else
        {
            string db = Arg("--db") ?? throw new ArgumentException("store-bytes needs --db FILE");
            StoreBytes(db, Arg("--name") ?? Path.GetFileName(db), args.Contains("--no-dimension"));
        }
        return 0;
    }

    private static void BuildRollupStore(string from, string to, string[]? only)
    {
        if (File.Exists(to)) throw new IOException($"{to} exists: delete it first");
        var sw = Stopwatch.StartNew();
        using (var store = PcapDhtDatabase.Open(to)) { } // the schema, views and macros of an empty store
        using var db = new DuckDBConnection($"Data Source={to}");
        db.Open();
        Exec(db, RollupSchema.CreateTables);
        Exec(db, RollupSchema.Views);
        Exec(db, $"ATTACH '{from.Replace("'", "''")}' AS src (READ_ONLY)");
        Exec(db, "INSERT INTO pcapdht_store.capture SELECT * FROM src.pcapdht_store.capture");
        // One UTC day at a time (the day is part of every rollup key, so each day's rows are whole, not partials):
        // one pass over everything groups ~90 M keys at once on the big store and spilled the disk full. The SQL
        // is the contract's, only the source tables are the attached store's. --tables restricts the targets.
        var (firstUs, lastUs) = (Scalar(db, "SELECT min(epoch_us(ts)) FROM src.pcapdht_store.msg"), Scalar(db, "SELECT max(epoch_us(ts)) FROM src.pcapdht_store.msg"));
        const long Day = 86_400_000_000;
        var perTable = new Dictionary<string, double>();
        for (long day = firstUs / Day; day <= lastUs / Day; day++)
        {
            string where = string.Create(CultureInfo.InvariantCulture, $"epoch_us(ts) >= {day * Day} AND epoch_us(ts) < {(day + 1) * Day}");
            string sql = RollupSchema.InsertFromStore(where).Replace("FROM pcapdht_store.", "FROM src.pcapdht_store.");
            foreach (var statement in sql.Split(";\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                string target = statement[..statement.IndexOf('\n')].Trim();
                if (only != null && !only.Any(t => target.EndsWith("." + t, StringComparison.Ordinal))) continue;
                var t = Stopwatch.StartNew();
                Exec(db, statement);
                perTable[target] = perTable.GetValueOrDefault(target) + t.Elapsed.TotalSeconds;
            }
        }
        foreach (var (target, seconds) in perTable)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{target}: {seconds:F1} s"));
        Exec(db, "DETACH src");
        Exec(db, "CHECKPOINT");
        foreach (var table in RollupSchema.Tables)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{table}: {Scalar(db, $"SELECT count(*) FROM pcapdht_store.{table}")} rows"));
        db.Close();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rollup store {to}: {new FileInfo(to).Length} bytes, built in {sw.Elapsed.TotalSeconds:F1} s"));
    }

    private static void StoreBytes(string path, string name, bool noDimension)
    {
        using var db = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
        db.Open();
        long fileBytes = new FileInfo(path).Length;
        long blockSize = Scalar(db, "SELECT block_size FROM pragma_database_size()");
        long usedBlocks = Scalar(db, "SELECT used_blocks FROM pragma_database_size()");

        var tables = new List<(string Schema, string Table, long Rows)>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() WHERE database_name = current_database() ORDER BY ALL";
            using var r = cmd.ExecuteReader();
            while (r.Read()) tables.Add((r.GetString(0), r.GetString(1), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture)));
        }

        // Every persistent segment of every table: (table, column label, block, offset, extra blocks).
        var segments = new List<(string Table, string Column, long Block, long Offset, int Extra)>();
        foreach (var (schema, table, _) in tables)
        {
            var fields = StructFields(db, schema, table);
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"""
                SELECT column_name, column_path::VARCHAR, block_id, block_offset, coalesce(len(additional_block_ids), 0)
                FROM pragma_storage_info('{schema}.{table}') WHERE persistent AND block_id >= 0
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                string column = r.GetString(0);
                var pathParts = r.GetString(1).Trim('[', ']').Split(',', StringSplitOptions.TrimEntries);
                // [c] a column, [c, 0] its validity, [c, k] the k-th field of a struct (k >= 1), deeper: that field's parts.
                if (pathParts.Length >= 2 && fields.TryGetValue(column, out var names) && int.TryParse(pathParts[1], out int k) && k >= 1 && k <= names.Length)
                    column += "." + names[k - 1];
                segments.Add(($"{schema}.{table}", column, r.GetInt64(2), r.GetInt64(3), Convert.ToInt32(r.GetValue(4), CultureInfo.InvariantCulture)));
            }
        }
        var bytes = new Dictionary<(string Table, string Column), long>();
        foreach (var block in segments.GroupBy(s => s.Block))
        {
            var inBlock = block.OrderBy(s => s.Offset).ToList();
            for (int i = 0; i < inBlock.Count; i++)
            {
                long end = i + 1 < inBlock.Count ? inBlock[i + 1].Offset : blockSize;
                var key = (inBlock[i].Table, inBlock[i].Column);
                bytes[key] = bytes.GetValueOrDefault(key) + end - inBlock[i].Offset + inBlock[i].Extra * blockSize;
            }
        }
        long attributed = bytes.Values.Sum();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"## {name}: file {fileBytes} bytes ({Mib(fileBytes)} MiB), {usedBlocks} used blocks of {blockSize} = {Mib(usedBlocks * blockSize)} MiB; attributed to tables below: {Mib(attributed)} MiB"));
        Console.WriteLine();
        Console.WriteLine("| table | rows | MiB | bytes/row | share of file |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (schema, table, rows) in tables)
        {
            long b = bytes.Where(kv => kv.Key.Table == $"{schema}.{table}").Sum(kv => kv.Value);
            if (b == 0) continue;
            Console.WriteLine(string.Create(inv,
                $"| {schema}.{table} | {rows} | {Mib(b)} | {(rows > 0 ? (double)b / rows : 0):F1} | {100.0 * b / fileBytes:F1} % |"));
        }
        Console.WriteLine();
        Console.WriteLine("| table.column (largest first, >= 1 % of the file) | MiB | bytes/row |");
        Console.WriteLine("|---|---:|---:|");
        var rowsOf = tables.ToDictionary(t => $"{t.Schema}.{t.Table}", t => t.Rows);
        foreach (var ((table, column), b) in bytes.OrderByDescending(kv => kv.Value))
        {
            if (b * 100 < fileBytes) break;
            long rows = rowsOf[table];
            Console.WriteLine(string.Create(inv, $"| {table}.{column} | {Mib(b)} | {(rows > 0 ? (double)b / rows : 0):F2} |"));
        }
        if (noDimension || !tables.Any(t => t.Schema == "pcapdht_store" && t.Table == "node" && t.Rows > 0)) return;

        // A node dimension table: each node-list sighting would keep a key into (address, port, id) instead.
        Console.WriteLine();
        var sb = new StringBuilder("| node-list table | sightings | distinct (address, port, id) | sightings per node | MiB of address+port+id columns |\n|---|---:|---:|---:|---:|\n");
        foreach (var (table, cols) in new[] { ("node", new[] { "n.ep", "n.id_a", "n.id_b", "n.id_lo" }), ("node6", new[] { "n.ip_hi", "n.ip_lo", "n.port", "n.id_a", "n.id_b", "n.id_lo" }) })
        {
            long rows = Scalar(db, $"SELECT count(*) FROM pcapdht_store.{table}");
            if (rows == 0) continue;
            long distinct = Scalar(db, $"SELECT count(*) FROM (SELECT DISTINCT n FROM pcapdht_store.{table})");
            long colBytes = cols.Sum(c => bytes.GetValueOrDefault(($"pcapdht_store.{table}", c)));
            sb.Append(string.Create(inv, $"| {table} | {rows} | {distinct} | {(double)rows / distinct:F2} | {Mib(colBytes)} |\n"));
        }
        Console.Write(sb.ToString());
    }

    /// <summary>The field names of each STRUCT column of a table, in order (child k of the storage path is field k-1).</summary>
    private static Dictionary<string, string[]> StructFields(DuckDBConnection db, string schema, string table)
    {
        var result = new Dictionary<string, string[]>();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = '{schema}' AND table_name = '{table}' AND data_type LIKE 'STRUCT(%'";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            string type = r.GetString(1);
            var names = new List<string>();
            int depth = 0, start = "STRUCT(".Length;
            for (int i = start; i < type.Length; i++)
            {
                char c = type[i];
                if (c == '(') depth++;
                else if (c == ')' && depth-- == 0 || c == ',' && depth == 0)
                {
                    names.Add(type[start..i].Trim().Split(' ')[0].Trim('"'));
                    start = i + 1;
                }
            }
            result[r.GetString(0)] = [.. names];
        }
        return result;
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    private static void Exec(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static long Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
