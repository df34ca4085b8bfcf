namespace PcapDht.Cli;

/// <summary>Every exit code the CLI returns, in one place (scripts depend on them).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Something failed at run time (damaged capture, database error, full disk).</summary>
    public const int Failure = 1;
    /// <summary>The command line was wrong, or the verb is not available.</summary>
    public const int Usage = 2;
    /// <summary>An input file or interface does not exist or cannot be opened.</summary>
    public const int InputError = 3;
    /// <summary>The database is locked by another process or cannot be opened.</summary>
    public const int DatabaseError = 4;
    /// <summary>Some input was processed but part of it was damaged (a partial capture).</summary>
    public const int Partial = 5;
    /// <summary>No permission (e.g. live capture without CAP_NET_RAW).</summary>
    public const int Permission = 6;
    /// <summary>
    /// A report has no answer: no ASN/country data imported, no sightings, none in the window, or none of the
    /// window's addresses in a range. The output says why and which --since/--until would reach the data.
    /// </summary>
    public const int NoData = 7;
    /// <summary>Interrupted by Ctrl-C / SIGTERM after flushing what was read.</summary>
    public const int Interrupted = 130;
}
