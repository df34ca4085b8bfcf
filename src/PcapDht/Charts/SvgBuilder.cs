using System.Globalization;
using System.Text;

namespace PcapDht.Charts;

/// <summary>
/// Writes SVG elements: <c>El("rect").A("x", 1).Title("...").End()</c>. Only presentation attributes,
/// never <c>style="..."</c>, so the page's Content-Security-Policy needs no 'unsafe-inline' for them.
/// Numbers are written invariant with one decimal, which is finer than a pixel at any zoom a reader uses.
/// </summary>
public sealed class SvgBuilder
{
    private readonly StringBuilder _sb = new();
    private readonly Stack<string> _open = new();
    private bool _inStartTag;

    public SvgBuilder El(string name)
    {
        CloseStartTag();
        _sb.Append('<').Append(name);
        _open.Push(name);
        _inStartTag = true;
        return this;
    }

    public SvgBuilder A(string name, string? value)
    {
        if (value is null) return this;
        _sb.Append(' ').Append(name).Append("=\"");
        Escape(value, attribute: true);
        _sb.Append('"');
        return this;
    }

    public SvgBuilder A(string name, double value) => A(name, Num(value));

    public SvgBuilder A(string name, long value) => A(name, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A tooltip: browsers show an element's first &lt;title&gt; child on hover.</summary>
    public SvgBuilder Title(string? text)
    {
        if (text is null) return this;
        CloseStartTag();
        _sb.Append("<title>");
        Escape(text, attribute: false);
        _sb.Append("</title>");
        return this;
    }

    public SvgBuilder Content(string text)
    {
        CloseStartTag();
        Escape(text, attribute: false);
        return this;
    }

    /// <summary>Appends already-written SVG markup (another builder's output).</summary>
    public SvgBuilder Raw(string markup)
    {
        CloseStartTag();
        _sb.Append(markup);
        return this;
    }

    public SvgBuilder End()
    {
        string name = _open.Pop();
        if (_inStartTag)
        {
            _sb.Append("/>");
            _inStartTag = false;
        }
        else
        {
            _sb.Append("</").Append(name).Append('>');
        }
        return this;
    }

    public SvgBuilder Rect(double x, double y, double width, double height, string fill) =>
        El("rect").A("x", x).A("y", y).A("width", Math.Max(0, width)).A("height", Math.Max(0, height)).A("fill", fill);

    public SvgBuilder Line(double x1, double y1, double x2, double y2, string stroke, double width = 1) =>
        El("line").A("x1", x1).A("y1", y1).A("x2", x2).A("y2", y2).A("stroke", stroke).A("stroke-width", width).End();

    /// <summary>A text element; <paramref name="anchor"/> is start, middle or end.</summary>
    public SvgBuilder Text(double x, double y, string text, double size, string fill, string anchor = "start", string? weight = null, string? title = null)
    {
        El("text").A("x", x).A("y", y).A("font-size", size).A("fill", fill);
        if (anchor != "start") A("text-anchor", anchor);
        A("font-weight", weight);
        Title(title).Content(text);
        return End();
    }

    public override string ToString()
    {
        if (_open.Count > 0) throw new InvalidOperationException($"<{_open.Peek()}> is not closed");
        return _sb.ToString();
    }

    public static string Num(double v)
    {
        double r = Math.Round(v, 1);
        return (r == 0 ? 0 : r).ToString("0.#", CultureInfo.InvariantCulture);
    }

    private void CloseStartTag()
    {
        if (!_inStartTag) return;
        _sb.Append('>');
        _inStartTag = false;
    }

    private void Escape(string s, bool attribute)
    {
        foreach (char c in s)
        {
            switch (c)
            {
                case '<': _sb.Append("&lt;"); break;
                case '>': _sb.Append("&gt;"); break;
                case '&': _sb.Append("&amp;"); break;
                case '"' when attribute: _sb.Append("&quot;"); break;
                // XML 1.0 allows no other control characters; a capture-controlled string (an error
                // message, an AS name) must not make the document unreadable.
                case < ' ' and not '\t' and not '\n' and not '\r': _sb.Append('\uFFFD'); break;
                default: _sb.Append(c); break;
            }
        }
    }
}
