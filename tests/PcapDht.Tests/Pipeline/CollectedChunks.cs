using PcapDht.Pipeline;

namespace PcapDht.Tests.Pipeline;

/// <summary>A chunk sink for encoder tests: keeps every chunk the row encoder submits (the test releases them).</summary>
internal sealed class CollectedChunks : IChunkSink
{
    public readonly List<NativeChunk> Chunks = [];
    public void Submit(NativeChunk chunk) => Chunks.Add(chunk);
}
