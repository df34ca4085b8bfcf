namespace PcapDht.Ingest;

/// <summary>Turns command-line inputs (files, directories, globs, "-") into the list of files to ingest.</summary>
public static class CaptureFiles
{
    /// <summary>
    /// Files are taken as given (a non-capture is reported by the reader); directories are searched
    /// recursively for files whose first bytes are a capture magic (pcap, pcapng, gzip, zstd), so
    /// READMEs and expected-output files next to captures are ignored; globs (* and ? in the last
    /// path segment) are expanded by this code so they work without a shell. Missing inputs are
    /// returned as-is so the pipeline reports them.
    /// </summary>
    public static List<string> Expand(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string f)
        {
            string key = f == "-" ? f : Path.GetFullPath(f);
            if (seen.Add(key)) files.Add(f);
        }
        foreach (var input in inputs)
        {
            // "/dev/stdin" is how a shell user names stdin when the argument parser takes "-" for an option.
            if (input is "-" or "/dev/stdin") { Add("-"); continue; }
            if (File.Exists(input)) { Add(input); continue; }
            if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden })
                    .Where(LooksLikeCapture).OrderBy(f => f, StringComparer.Ordinal);
                foreach (var f in found) Add(f);
                continue;
            }
            if (input.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                string dir = Path.GetDirectoryName(input) is { Length: > 0 } d ? d : ".";
                string pattern = Path.GetFileName(input);
                bool recursive = dir.EndsWith("**", StringComparison.Ordinal);
                if (recursive) dir = Path.GetDirectoryName(dir) is { Length: > 0 } p ? p : ".";
                if (dir.AsSpan().IndexOfAny('*', '?') < 0 && Directory.Exists(dir))
                {
                    var matches = Directory.EnumerateFiles(dir, pattern, new EnumerationOptions { RecurseSubdirectories = recursive, IgnoreInaccessible = true })
                        .OrderBy(f => f, StringComparer.Ordinal).ToList();
                    foreach (var f in matches) Add(f);
                    if (matches.Count > 0) continue;
                }
            }
            Add(input); // reported as missing by the pipeline
        }
        return files;
    }

    /// <summary>
    /// pcap (both byte orders, µs and ns) or pcapng magic, also inside gzip or zstd (a compressed
    /// file is opened to look at its first decompressed bytes, so e.g. a .tsv.gz is not taken).
    /// </summary>
    public static bool LooksLikeCapture(string path)
    {
        try
        {
            using var f = File.OpenRead(path);
            Span<byte> head = stackalloc byte[4];
            if (f.ReadAtLeast(head, 4, throwOnEndOfStream: false) < 4) return false;
            if (IsCaptureMagic(head)) return true;
            bool gzip = head[0] == 0x1f && head[1] == 0x8b;
            bool zstd = head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd;
            if (!gzip && !zstd) return false;
            f.Position = 0;
            using Stream inner = gzip ? new System.IO.Compression.GZipStream(f, System.IO.Compression.CompressionMode.Decompress) : new ZstdSharp.DecompressionStream(f);
            return inner.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && IsCaptureMagic(head);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
        catch (InvalidDataException) { return false; }
        catch (ZstdSharp.ZstdException) { return false; }
    }

    private static bool IsCaptureMagic(ReadOnlySpan<byte> head)
    {
        uint be = (uint)(head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3]);
        return be is 0xa1b2c3d4 or 0xd4c3b2a1 or 0xa1b23c4d or 0x4d3cb2a1 or 0x0a0d0d0a;
    }
}
