using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Pipeline;
using PcapDht.Store;

namespace PcapDht.Tests.Pipeline;

/// <summary>
/// Hand-made KRPC messages through the real stages after decoding — matcher, row encoder, store session —
/// into one capture: what the store tests need to write rows a decoder would never produce.
/// </summary>
internal sealed class TestCaptureWriter : IDisposable
{
    private readonly StoreSession _session;
    private readonly CapturePipeline _pipeline;
    private bool _done;

    private TestCaptureWriter(StoreSession session, CapturePipeline pipeline, int captureId)
    {
        _session = session;
        _pipeline = pipeline;
        CaptureId = captureId;
    }

    public int CaptureId { get; }
    public CaptureStats Stats => _pipeline.Stats;

    /// <summary>Stored as the capture's frame count (no decoder counts frames here).</summary>
    public long Frames { get; set; }

    public static TestCaptureWriter Begin(PcapDhtDatabase db, CaptureSource source, StoreSessionOptions? options = null)
    {
        options ??= new StoreSessionOptions();
        var session = StoreSession.Attach(db, options);
        var pipeline = new CapturePipeline(session, options.ChunksPerTable);
        int id = session.RegisterCaptures([source])[0];
        session.StartCapture(id);
        pipeline.StartCapture(id);
        return new TestCaptureWriter(session, pipeline, id);
    }

    public void Add(in UdpDatagram d, in KrpcMessage m) => _pipeline.Add(d, m);

    private CaptureTotals Totals()
    {
        _pipeline.Encoder.SubmitAll();
        var t = _pipeline.Totals();
        t.Stats.Frames = Frames;
        return t;
    }

    /// <summary>Commits the rows so far; the capture stays running.</summary>
    public void Checkpoint() => _session.Checkpoint(CaptureId, Totals());

    public void Complete()
    {
        _session.CompleteCapture(CaptureId, Totals(), "complete");
        _session.Commit();
        _done = true;
    }

    public void Dispose()
    {
        if (!_done) _pipeline.Encoder.DropAllRows();
        _session.Dispose();
        _pipeline.Dispose();
    }
}
