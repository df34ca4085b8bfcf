namespace PcapDht.Store;

/// <summary>A database problem with a one-line message that says what to do.</summary>
public class StoreException : Exception
{
    public StoreException(string message) : base(message) { }
    public StoreException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Another process holds the DuckDB file open for writing.</summary>
public sealed class DatabaseLockedException : StoreException
{
    public DatabaseLockedException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The device holding the database (or its temporary files) is full.</summary>
public sealed class DiskFullException : StoreException
{
    public DiskFullException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The database file is damaged: a block fails its checksum, the file is cut short or is not a DuckDB file.
/// The message says what to do (restore a backup, or copy out what still reads; `pcapdht check` finds the extent).
/// </summary>
public sealed class CorruptDatabaseException : StoreException
{
    public CorruptDatabaseException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>There is no database file where one was expected (a reading verb does not create one).</summary>
public sealed class NoDatabaseException(string message) : StoreException(message);
