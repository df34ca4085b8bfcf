namespace PcapDht.Live;

/// <summary>Why a live capture could not start; the CLI maps each kind to an exit code.</summary>
public enum LiveErrorKind
{
    Permission,
    NoSuchInterface,
    LibpcapMissing,
    BadFilter,
    BadOption,
    Device,
}

/// <summary>A live-capture failure whose <see cref="Exception.Message"/> is one line that says the fix.</summary>
public sealed class LiveCaptureException : Exception
{
    public LiveErrorKind Kind { get; }

    public LiveCaptureException(LiveErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;
}
