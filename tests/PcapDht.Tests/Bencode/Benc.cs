using System.Text;
using PcapDht.Bencode.Simd;

namespace PcapDht.Tests.Bencode;

/// <summary>
/// Test-side bencoder: string (Latin-1) or byte[] → string, int/long → integer, object[] → list,
/// <see cref="Dict"/> → dictionary in the order given (so tests can build unsorted ones on purpose).
/// </summary>
public static class Benc
{
    public sealed record Dict(params (string Key, object Value)[] Entries);

    public static byte[] Encode(object value)
    {
        var buffer = new MemoryStream();
        Write(buffer, value);
        return buffer.ToArray();
    }

    public static byte[] Bytes(string latin1) => Encoding.Latin1.GetBytes(latin1);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static void Write(MemoryStream s, object value)
    {
        switch (value)
        {
            case string text:
                WriteString(s, Bytes(text));
                break;
            case byte[] bytes:
                WriteString(s, bytes);
                break;
            case int i:
                WriteAscii(s, $"i{i}e");
                break;
            case long l:
                WriteAscii(s, $"i{l}e");
                break;
            case object[] list:
                s.WriteByte((byte)'l');
                foreach (var item in list)
                    Write(s, item);
                s.WriteByte((byte)'e');
                break;
            case Dict dict:
                s.WriteByte((byte)'d');
                foreach (var (key, v) in dict.Entries)
                {
                    WriteString(s, Bytes(key));
                    Write(s, v);
                }
                s.WriteByte((byte)'e');
                break;
            default:
                throw new ArgumentException($"cannot bencode {value.GetType()}");
        }
    }

    private static void WriteString(MemoryStream s, byte[] bytes)
    {
        WriteAscii(s, $"{bytes.Length}:");
        s.Write(bytes);
    }

    private static void WriteAscii(MemoryStream s, string text) => s.Write(Encoding.ASCII.GetBytes(text));
}

/// <summary>Theory data: every SIMD variant, so each decoder test runs on all of them.</summary>
public static class Variants
{
    public static TheoryData<SimdVariant> All => new(SimdVariant.Scalar, SimdVariant.Vector128, SimdVariant.Vector256);
}
