namespace PcapDht.Cli.Rendering;

/// <summary>How a verb that outputs data writes it (--format).</summary>
public enum OutputFormat
{
    Table,
    Csv,
    Json,
    Markdown,
}

public static class OutputFormats
{
    public const string Help = "table|csv|json|markdown";

    public static bool TryParse(string? text, out OutputFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "table": format = OutputFormat.Table; return true;
            case "csv": format = OutputFormat.Csv; return true;
            case "json": format = OutputFormat.Json; return true;
            case "markdown" or "md": format = OutputFormat.Markdown; return true;
            default: format = OutputFormat.Table; return false;
        }
    }
}
