using PcapDht.Live;

namespace PcapDht.Cli.Commands;

/// <summary>Chooses the sink a sniff session writes to.</summary>
internal static class LiveSinks
{
    public static StoreLiveSink Create(string databasePath, TimeSpan? keepDetail = null) => new(databasePath, keepDetail: keepDetail);
}
