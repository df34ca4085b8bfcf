using System.Net.Sockets;
using SharpPcap;
using SharpPcap.LibPcap;

namespace PcapDht.Live;

/// <summary>One capturable interface as libpcap's pcap_findalldevs sees it.</summary>
public sealed record LiveInterface(string Name, string? Description, IReadOnlyList<string> Addresses, bool Loopback, bool Up);

/// <summary>Lists interfaces and opens one for passive capture, turning libpcap failures into one-line fixes.</summary>
public static class LiveDevices
{
    // pcap_if.flags bits (pcap/pcap.h)
    private const uint IfLoopback = 0x1;
    private const uint IfUp = 0x2;

    public static IReadOnlyList<LiveInterface> List()
    {
        var devices = LoadDeviceList();
        var result = new List<LiveInterface>(devices.Count);
        foreach (var d in devices)
        {
            var addresses = new List<string>();
            foreach (var a in d.Addresses)
            {
                var ip = a.Addr?.ipAddress;
                if (ip != null && (ip.AddressFamily == AddressFamily.InterNetwork || ip.AddressFamily == AddressFamily.InterNetworkV6))
                {
                    addresses.Add(ip.ToString());
                }
            }
            result.Add(new LiveInterface(d.Name, string.IsNullOrEmpty(d.Description) ? null : d.Description, addresses,
                (d.Flags & IfLoopback) != 0, (d.Flags & IfUp) != 0));
        }
        return result;
    }

    /// <summary>Finds the interface by exact name; the exception lists the ones that exist.</summary>
    internal static LibPcapLiveDevice Find(string name)
    {
        var devices = LoadDeviceList();
        foreach (var d in devices)
        {
            if (d.Name == name) return d;
        }
        var names = new List<string>(devices.Count);
        foreach (var d in devices) names.Add(d.Name);
        throw new LiveCaptureException(LiveErrorKind.NoSuchInterface, names.Count == 0
            ? $"no such interface '{name}', and libpcap sees no interface at all (run as root or with cap_net_raw,cap_net_admin to see them)"
            : $"no such interface '{name}'; available: {string.Join(", ", names)} (see pcapdht sniff --list)");
    }

    /// <summary>Checks a BPF expression without any device (pcap_open_dead); the message is libpcap's parser error.</summary>
    /// <remarks>Needs no privilege, so a typo fails before the device is touched. The device compiles it
    /// again for its real link type when the capture starts.</remarks>
    public static void CheckFilter(string filter)
    {
        EnsureLibpcap();
        if (!PcapDevice.CheckFilter(filter, out var error))
        {
            throw BadFilter(filter, error);
        }
    }

    internal static LiveCaptureException BadFilter(string filter, string? error)
        => new(LiveErrorKind.BadFilter, $"bad --filter \"{filter}\": {OneLine(error) ?? "libpcap could not compile it"} (see man 7 pcap-filter)");

    internal static string? OneLine(string? s) => s?.Replace('\n', ' ').Replace('\r', ' ').Trim();

    private static LibPcapLiveDeviceList LoadDeviceList()
    {
        EnsureLibpcap();
        try
        {
            return LibPcapLiveDeviceList.New();
        }
        catch (PcapException ex)
        {
            throw new LiveCaptureException(LiveErrorKind.Device, $"libpcap cannot list interfaces: {OneLine(ex.Message)}", ex);
        }
    }

    internal static void EnsureLibpcap()
    {
        if (!NativePcap.TryLoad(out _))
        {
            throw new LiveCaptureException(LiveErrorKind.LibpcapMissing,
                "libpcap is not installed (Debian/Ubuntu: apt-get install libpcap0.8; Fedora: dnf install libpcap)");
        }
    }
}
