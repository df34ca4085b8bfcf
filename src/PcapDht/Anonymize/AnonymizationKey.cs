using System.Security.Cryptography;

namespace PcapDht.Anonymize;

/// <summary>A key file could not be read, parsed or written; the message is one line naming the file.</summary>
public sealed class AnonymizationKeyException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The 32-byte Crypto-PAn key (AES-128 key, then pad) and its file form: 64 hex digits on one line,
/// as the original Crypto-PAn and its ports take a key, so one key file serves them all. Whitespace
/// around the digits is ignored; anything else is an error.
/// </summary>
public sealed class AnonymizationKey
{
    public const int HexDigits = CryptoPan.KeyLength * 2;

    private readonly byte[] _bytes;

    private AnonymizationKey(byte[] bytes) => _bytes = bytes;

    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>64 hex digits (either case), optionally surrounded by whitespace.</summary>
    public static AnonymizationKey Parse(string text, string source = "key")
    {
        var hex = text.AsSpan().Trim();
        if (hex.Length != HexDigits)
            throw new AnonymizationKeyException($"{source}: expected {HexDigits} hex digits (a 16-byte AES key, then a 16-byte pad), found {hex.Length} characters");
        foreach (char c in hex)
        {
            if (!char.IsAsciiHexDigit(c))
                throw new AnonymizationKeyException($"{source}: '{c}' is not a hex digit; a key file holds {HexDigits} hex digits");
        }
        return new AnonymizationKey(Convert.FromHexString(hex));
    }

    public static AnonymizationKey FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != CryptoPan.KeyLength)
            throw new AnonymizationKeyException($"a key is {CryptoPan.KeyLength} bytes, not {bytes.Length}");
        return new AnonymizationKey(bytes.ToArray());
    }

    /// <summary>32 bytes from the operating system's cryptographic random source.</summary>
    public static AnonymizationKey Generate() => new(RandomNumberGenerator.GetBytes(CryptoPan.KeyLength));

    public static AnonymizationKey Load(string path)
    {
        string text;
        try
        {
            // A key file is 65 bytes; refuse to read a large file by mistake (a capture given as --key).
            var info = new FileInfo(path);
            if (!info.Exists) throw new AnonymizationKeyException($"{path}: key file not found (make one with `pcapdht anonymize keygen {path}`)");
            if (info.Length > 4096) throw new AnonymizationKeyException($"{path}: {info.Length} bytes is not a key file ({HexDigits} hex digits)");
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AnonymizationKeyException($"{path}: cannot read the key file: {ex.Message}", ex);
        }
        return Parse(text, path);
    }

    /// <summary>
    /// True when the file can be read by its group or by others (a key that leaks undoes the
    /// anonymization of everything made with it). Always false where Unix modes do not exist.
    /// </summary>
    public static bool IsReadableByOthers(string path)
    {
        if (OperatingSystem.IsWindows()) return false;
        var mode = File.GetUnixFileMode(path);
        return (mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0;
    }

    /// <summary>
    /// Writes the key as 64 lowercase hex digits and a newline to a new file with mode 0600. Never
    /// overwrites: losing a key makes a published data set impossible to extend consistently.
    /// </summary>
    public void WriteNew(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(Convert.ToHexStringLower(_bytes));
            writer.Write('\n');
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new AnonymizationKeyException($"{path}: already exists; a key is never overwritten (remove it yourself if you mean to)");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AnonymizationKeyException($"{path}: cannot write the key file: {ex.Message}", ex);
        }
    }

    public CryptoPan CreateCryptoPan() => new(_bytes);
}
