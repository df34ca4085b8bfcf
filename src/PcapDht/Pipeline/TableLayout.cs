using System.Runtime.InteropServices;
using System.Text;
using DuckDB.NET.Native;

namespace PcapDht.Pipeline;

/// <summary>A column of a storage table: a plain column, or a STRUCT whose children are the leaves.</summary>
internal sealed record Column(string Name, DuckDBType Type, bool Nullable = false, Column[]? Children = null)
{
    public static Column Struct(string name, params Column[] children) => new(name, DuckDBType.Struct, false, children);
}

/// <summary>One leaf column as the encoder fills it (STRUCT children are named <c>parent.child</c>).</summary>
internal readonly record struct LeafColumn(string Name, DuckDBType Type, bool Nullable, int Bytes);

/// <summary>
/// The one definition of a storage table's columns: the <c>CREATE TABLE</c> statement, the DuckDB
/// logical types of its data chunks and the leaf indices the encoder writes are all derived from it
/// (<see cref="StoreColumns"/> holds the tables). The logical types are created without a database
/// connection, so rows can be encoded before (or without) a database being open: a live capture
/// encodes continuously and opens the file only to flush.
/// </summary>
internal sealed unsafe partial class TableLayout
{
    private readonly Dictionary<string, int> _leafIndex = new(StringComparer.Ordinal);

    public TableLayout(string table, params Column[] columns)
    {
        Table = table;
        Columns = columns;
        var leaves = new List<LeafColumn>();
        StructChildren = new int[columns.Length];
        for (int i = 0; i < columns.Length; i++)
        {
            var c = columns[i];
            if (c.Children == null) leaves.Add(Leaf(c.Name, c));
            else
            {
                StructChildren[i] = c.Children.Length;
                foreach (var child in c.Children) leaves.Add(Leaf(c.Name + "." + child.Name, child));
            }
        }
        Leaves = [.. leaves];
        for (int i = 0; i < Leaves.Length; i++) _leafIndex.Add(Leaves[i].Name, i);
        foreach (var l in Leaves) RowBytes += l.Bytes;
        TypeHandles = new IntPtr[columns.Length];
        for (int i = 0; i < columns.Length; i++) TypeHandles[i] = CreateType(columns[i]);
    }

    public string Table { get; }
    public Column[] Columns { get; }
    public LeafColumn[] Leaves { get; }

    /// <summary>Per top-level column: its STRUCT child count, 0 for a plain column.</summary>
    public int[] StructChildren { get; }

    /// <summary>The top-level columns' DuckDB logical types (process lifetime: never destroyed).</summary>
    public IntPtr[] TypeHandles { get; }

    /// <summary>Fixed-width bytes per row (VARCHAR/BLOB counted as their 16-byte string header).</summary>
    public int RowBytes { get; }

    /// <summary>The leaf index of a column (<c>"d.src_hi"</c> for a STRUCT child); throws for an unknown name.</summary>
    public int Leaf(string name) => _leafIndex.TryGetValue(name, out int i) ? i
        : throw new ArgumentException($"pcapdht_store.{Table} has no column {name}", nameof(name));

    /// <summary>The table's <c>CREATE TABLE IF NOT EXISTS</c> statement.</summary>
    public string CreateTableSql()
    {
        var sb = new StringBuilder($"CREATE TABLE IF NOT EXISTS pcapdht_store.{Table} (\n");
        for (int i = 0; i < Columns.Length; i++)
        {
            var c = Columns[i];
            sb.Append("    ").Append(c.Name).Append(' ');
            if (c.Children == null) sb.Append(SqlType(c.Type));
            else sb.Append("STRUCT(").AppendJoin(", ", c.Children.Select(ch => ch.Name + " " + SqlType(ch.Type))).Append(')');
            if (!c.Nullable) sb.Append(" NOT NULL");
            sb.Append(i + 1 < Columns.Length ? ",\n" : "\n");
        }
        return sb.Append(");\n").ToString();
    }

    private static LeafColumn Leaf(string name, Column c) => new(name, c.Type, c.Nullable, c.Type switch
    {
        DuckDBType.TinyInt or DuckDBType.UnsignedTinyInt => 1,
        DuckDBType.SmallInt or DuckDBType.UnsignedSmallInt => 2,
        DuckDBType.Integer or DuckDBType.UnsignedInteger => 4,
        DuckDBType.BigInt or DuckDBType.UnsignedBigInt or DuckDBType.TimestampTz => 8,
        DuckDBType.HugeInt or DuckDBType.UnsignedHugeInt or DuckDBType.Varchar or DuckDBType.Blob => 16,
        _ => throw new ArgumentException($"column {name}: type {c.Type} is not used by the store"),
    });

    internal static string SqlType(DuckDBType t) => t switch
    {
        DuckDBType.UnsignedTinyInt => "UTINYINT",
        DuckDBType.UnsignedSmallInt => "USMALLINT",
        DuckDBType.Integer => "INTEGER",
        DuckDBType.UnsignedInteger => "UINTEGER",
        DuckDBType.BigInt => "BIGINT",
        DuckDBType.UnsignedBigInt => "UBIGINT",
        DuckDBType.UnsignedHugeInt => "UHUGEINT",
        DuckDBType.TimestampTz => "TIMESTAMPTZ",
        DuckDBType.Varchar => "VARCHAR",
        DuckDBType.Blob => "BLOB",
        _ => throw new ArgumentException($"type {t} is not used by the store"),
    };

    private static IntPtr CreateType(Column c)
    {
        if (c.Children == null) return duckdb_create_logical_type(c.Type);
        int n = c.Children.Length;
        var types = stackalloc IntPtr[n];
        var names = new IntPtr[n];
        try
        {
            for (int i = 0; i < n; i++)
            {
                types[i] = duckdb_create_logical_type(c.Children[i].Type);
                names[i] = Marshal.StringToCoTaskMemUTF8(c.Children[i].Name);
            }
            fixed (IntPtr* pn = names) return duckdb_create_struct_type(types, pn, (ulong)n);
        }
        finally
        {
            // duckdb_create_struct_type copies the child types and names.
            for (int i = 0; i < n; i++)
            {
                if (types[i] != 0) duckdb_destroy_logical_type(&types[i]);
                Marshal.FreeCoTaskMem(names[i]);
            }
        }
    }

    // DuckDB.NET binds duckdb_create_logical_type but not duckdb_create_struct_type; both come from the
    // libduckdb that DuckDB.NET.Data.Full ships.
    [LibraryImport("duckdb")]
    private static partial IntPtr duckdb_create_logical_type(DuckDBType type);

    [LibraryImport("duckdb")]
    private static partial IntPtr duckdb_create_struct_type(IntPtr* memberTypes, IntPtr* memberNames, ulong memberCount);

    [LibraryImport("duckdb")]
    private static partial void duckdb_destroy_logical_type(IntPtr* type);
}
