using System.Diagnostics;
using PcapDht.Charts;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Charts;

/// <summary>The embedded map is what its script makes from the pinned npm packages, byte for byte.</summary>
public class MapAssetTests
{
    [Fact]
    public void EmbeddedWorldMap_IsReproducedByItsScript()
    {
        string dir = Path.Combine(RepoPaths.Root, "scripts", "report-assets");
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "world-atlas")),
            "scripts/report-assets/node_modules is missing: scripts/install-deps.sh test installs it (npm)");
        using var t = new TempFiles();
        string output = t.Path("world.json");
        var psi = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(Path.Combine(dir, "make-world-map.mjs"));
        psi.ArgumentList.Add(output);
        using (var p = Process.Start(psi)!)
        {
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(120_000), "make-world-map.mjs did not finish");
            Assert.True(p.ExitCode == 0, err);
        }
        using var embedded = typeof(WorldAtlas).Assembly.GetManifestResourceStream(WorldAtlas.ResourceName)!;
        using var ms = new MemoryStream();
        embedded.CopyTo(ms);
        Assert.True(File.ReadAllBytes(output).AsSpan().SequenceEqual(ms.ToArray()),
            "the committed src/PcapDht/Charts/Assets/world-110m.json differs from what scripts/make-report-assets.sh makes");
    }
}
