using System.Diagnostics;
using PcapDht.Store;

namespace PcapDht.Tests.Store;

/// <summary>
/// DuckDB keeps other processes out of an open database with a POSIX record lock (fcntl F_SETLK). POSIX drops
/// every record lock a process holds on a file as soon as the process closes *any* descriptor of that file, so
/// a second handle we open on the database (the write-back thread's) must not be closed while DuckDB still has
/// the file open: a reader in another process could then open it in the middle of a write or checkpoint and
/// read torn blocks. The check runs in another process (python3's fcntl), as a lock only shows from outside.
/// </summary>
public class FileLockTests
{
    [Fact]
    public void StoreSession_DisposedWhileDatabaseOpen_FileStaysLockedForOtherProcesses()
    {
        using var dir = new TempDir();
        string path = dir.File("locked.duckdb");
        using var db = PcapDhtDatabase.Open(path);
        Assert.True(LockedForOtherProcesses(path), "DuckDB's lock is not visible from another process");

        using (StoreSession.Attach(db)) { }

        Assert.True(LockedForOtherProcesses(path), "the database is still open but another process can lock it");
    }

    [Fact]
    public void Database_Disposed_FileIsFreeForOtherProcesses()
    {
        using var dir = new TempDir();
        string path = dir.File("free.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
        using (StoreSession.Attach(db)) { }
        Assert.False(LockedForOtherProcesses(path));
    }

    /// <summary>Whether another process is refused a shared fcntl lock on the file (DuckDB holds a write lock).</summary>
    private static bool LockedForOtherProcesses(string path)
    {
        const string script = """
            import fcntl, sys
            f = open(sys.argv[1], 'rb')
            try:
                fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                sys.exit(3)
            sys.exit(0)
            """;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), "python3 did not finish");
        Assert.True(p.ExitCode is 0 or 3, $"lock probe failed ({p.ExitCode}): {err}");
        return p.ExitCode == 3;
    }
}
