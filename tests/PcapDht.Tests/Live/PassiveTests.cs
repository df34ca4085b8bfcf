using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace PcapDht.Tests.Live;

/// <summary>
/// The sniffer must never transmit. Rather than trust review, scan the IL metadata of our two assemblies:
/// every member reference, type reference, P/Invoke import and string literal that could reach a send path.
/// </summary>
public class PassiveTests
{
    private static readonly string[] s_forbiddenMethods =
    [
        "SendPacket", "SendQueue", "Transmit", "Inject",
        "Send", "SendTo", "SendAsync", "SendToAsync", "SendMessage", "SendFile", "SendPackets", "BeginSend", "BeginSendTo",
    ];

    private static readonly string[] s_forbiddenTypes = ["SendQueue", "UdpClient", "TcpClient", "Socket", "HttpClient", "Ping", "IInjectionDevice"];

    private static readonly string[] s_forbiddenNative = ["pcap_sendpacket", "pcap_inject", "pcap_sendqueue", "sendto", "sendmsg", "send"];

    [Theory]
    [InlineData("PcapDht.Core.dll")]
    [InlineData("pcapdht.dll")]
    public void Assembly_ReferencesNoTransmitApi(string file)
    {
        var hits = Scan(Path.Combine(AppContext.BaseDirectory, file));
        Assert.True(hits.Count == 0, $"{file} references transmit APIs: {string.Join("; ", hits)}");
    }

    [Fact]
    public void Scanner_FindsSendPathsInSharpPcapItself()
    {
        // The positive control: SharpPcap defines SendPacket and imports pcap_sendpacket, so a scanner
        // that finds nothing there would be proving nothing about our assemblies.
        var hits = Scan(Path.Combine(AppContext.BaseDirectory, "SharpPcap.dll"));
        Assert.Contains(hits, h => h.Contains("pcap_sendpacket", StringComparison.Ordinal));
        Assert.Contains(hits, h => h.Contains("SendPacket", StringComparison.Ordinal));
    }

    private static List<string> Scan(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var hits = new List<string>();

        foreach (var h in md.MemberReferences)
        {
            var m = md.GetMemberReference(h);
            var name = md.GetString(m.Name);
            var parent = ParentName(md, m.Parent);
            if (Array.IndexOf(s_forbiddenMethods, name) >= 0 && IsNetworkOrPcap(parent))
                hits.Add($"call {parent}.{name}");
        }
        foreach (var h in md.TypeReferences)
        {
            var t = md.GetTypeReference(h);
            var name = md.GetString(t.Name);
            var ns = md.GetString(t.Namespace);
            if (Array.IndexOf(s_forbiddenTypes, name) >= 0 && (ns.StartsWith("System.Net", StringComparison.Ordinal) || ns.StartsWith("SharpPcap", StringComparison.Ordinal)))
                hits.Add($"type {ns}.{name}");
        }
        foreach (var h in md.MethodDefinitions)
        {
            var def = md.GetMethodDefinition(h);
            var name = md.GetString(def.Name);
            var import = def.GetImport();
            if (!import.Module.IsNil)
            {
                var entry = import.Name.IsNil ? name : md.GetString(import.Name);
                if (Array.IndexOf(s_forbiddenNative, entry) >= 0) hits.Add($"P/Invoke {entry}");
            }
            if (name is "SendPacket" or "SendQueue") hits.Add($"defines {name}");
        }
        // Native entry points looked up by name (NativeLibrary.GetExport) live in the user-string heap.
        var us = default(UserStringHandle);
        while (true)
        {
            us = md.GetNextHandle(us);
            if (us.IsNil) break;
            var s = md.GetUserString(us);
            if (s.Length == 0) continue;
            if (Array.IndexOf(s_forbiddenNative, s) >= 0) hits.Add($"string \"{s}\"");
        }
        return hits;
    }

    private static bool IsNetworkOrPcap(string parent)
        => parent.StartsWith("System.Net", StringComparison.Ordinal) || parent.StartsWith("SharpPcap", StringComparison.Ordinal)
           || parent.StartsWith("PacketDotNet", StringComparison.Ordinal);

    private static string ParentName(MetadataReader md, EntityHandle parent)
    {
        switch (parent.Kind)
        {
            case HandleKind.TypeReference:
                var tr = md.GetTypeReference((TypeReferenceHandle)parent);
                return md.GetString(tr.Namespace) + "." + md.GetString(tr.Name);
            case HandleKind.TypeSpecification:
                // Generic instantiations: good enough to name the blob; our checks only need namespaces.
                return "typespec";
            case HandleKind.TypeDefinition:
                var td = md.GetTypeDefinition((TypeDefinitionHandle)parent);
                return md.GetString(td.Namespace) + "." + md.GetString(td.Name);
            default:
                return parent.Kind.ToString();
        }
    }
}
