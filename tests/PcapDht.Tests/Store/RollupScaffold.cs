using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Store;

namespace PcapDht.Tests.Store;

/// <summary>
/// Gives a database its daily rollups where the store did not write them (a build before the writer): the tables
/// and views of <see cref="RollupSchema"/>, filled from every detail row by its own SQL. A store that maintains the
/// rollups already has them, and then this does nothing.
/// </summary>
public static class RollupScaffold
{
    public static void Ensure(string dbPath)
    {
        using var db = new DuckDBConnection($"Data Source={dbPath}");
        db.Open();
        Ensure(db);
    }

    public static void Ensure(DuckDBConnection db)
    {
        if (Reports.HasRollups(db)) return;
        using var cmd = db.CreateCommand();
        cmd.CommandText = RollupSchema.CreateTables + RollupSchema.Views + RollupSchema.InsertFromStore("true");
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// What <c>pcapdht prune</c> leaves: the detail rows before <paramref name="cutoffUs"/> deleted (the rollups stay) and
    /// the cutoff recorded in <c>pcapdht_store.meta</c>.
    /// </summary>
    public static void PruneDetail(string dbPath, long cutoffUs)
    {
        using var db = new DuckDBConnection($"Data Source={dbPath}");
        db.Open();
        using var cmd = db.CreateCommand();
        string us = cutoffUs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        cmd.CommandText = string.Join("\n", new[] { "msg", "node", "node6", "peer", "malformed" }
            .Select(t => $"DELETE FROM pcapdht_store.{t} WHERE epoch_us(ts) < {us};"))
            + $"\nINSERT OR REPLACE INTO pcapdht_store.meta VALUES ('{StoreRetention.MetaKey}', '{us}');";
        cmd.ExecuteNonQuery();
    }
}
