using PcapDht.Live;

namespace PcapDht.Cli.Commands;

/// <summary>Chooses the sink a sniff session writes to.</summary>
internal static class LiveSinks
{
    public static ILiveSink Create(string databasePath)
        => throw new LiveCaptureException(LiveErrorKind.Device,
            $"writing to {databasePath} needs the DuckDB store, which is not in this build yet");
}
