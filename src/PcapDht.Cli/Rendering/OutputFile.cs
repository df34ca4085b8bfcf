namespace PcapDht.Cli.Rendering;

/// <summary>A file a verb writes (a page, a chart): its folder is created, and it is written under a temporary name and renamed, so a failure never leaves half a file.</summary>
public static class OutputFile
{
    /// <summary>Writes the file; null when written, else a one-line reason.</summary>
    public static string? Write(string path, Action<Stream> write)
    {
        string tmp = path + ".tmp";
        try
        {
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
            using (var fs = File.Create(tmp)) write(fs);
            File.Move(tmp, path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            try { File.Delete(tmp); }
            catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
            return e.Message;
        }
    }
}
