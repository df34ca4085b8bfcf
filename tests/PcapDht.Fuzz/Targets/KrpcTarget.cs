using PcapDht.Bencode;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;

namespace PcapDht.Fuzz;

/// <summary>
/// Decodes one input with every SIMD variant and throws when an invariant breaks: variants disagree
/// with the scalar reference, a span points outside the input, or the reader accepts something it
/// then cannot account for. Exceptions of the decoder itself are findings too.
/// </summary>
public static class KrpcTarget
{
    public static void Check(byte[] data)
    {
        var reference = Summarize(data, SimdVariant.Scalar);
        foreach (var variant in SimdSelection.All)
        {
            if (variant == SimdVariant.Scalar)
                continue;
            var other = Summarize(data, variant);
            if (other != reference)
                throw new InvalidOperationException($"{variant} disagrees with scalar: {other} vs {reference}");
        }
    }

    private static Summary Summarize(byte[] data, SimdVariant variant)
    {
        var reader = new BencodeReader(data, new BencodeReaderOptions(0, variant));
        int tokens = 0;
        int last = 0;
        ulong tokenHash = 17;
        while (reader.Read())
        {
            tokens++;
            if (reader.BytesConsumed <= last || reader.BytesConsumed > data.Length)
                throw new InvalidOperationException($"reader went from {last} to {reader.BytesConsumed}");
            last = reader.BytesConsumed;
            tokenHash = tokenHash * 31 + (ulong)reader.TokenType + (ulong)reader.ValueSpan.Length * 7 + (ulong)reader.TokenStartIndex;
            if (reader.TokenType == BencodeTokenType.Integer)
                tokenHash += (ulong)reader.GetInt64();
        }
        if (!reader.HasError && data.Length > 0 && reader.BytesConsumed != data.Length)
            throw new InvalidOperationException("reader stopped early without an error");

        var result = KrpcDecoder.Decode(data, variant, out KrpcMessage m, out KrpcError error);
        int nodes = 0, nodes6 = 0, peers = 0, samples = 0;
        if (result == KrpcDecodeResult.Message)
        {
            foreach (var node in CompactLists.Nodes(m.Nodes))
            {
                if (node.Id.Length != 20)
                    throw new InvalidOperationException("node id is not 20 bytes");
                nodes++;
            }
            foreach (var _ in CompactLists.Nodes6(m.Nodes6))
                nodes6++;
            foreach (var _ in CompactLists.Values(m.Values))
                peers++;
            foreach (var _ in CompactLists.Samples(m.Samples))
                samples++;
            if (peers > m.ValuesCount)
                throw new InvalidOperationException("more peers than values entries");
            if (m.TransactionId.Length > data.Length)
                throw new InvalidOperationException("transaction id longer than the input");
        }
        else if (result == KrpcDecodeResult.Malformed && (error.Offset < 0 || error.Offset > data.Length))
        {
            throw new InvalidOperationException($"error offset {error.Offset} outside the input");
        }
        return new Summary(reader.Error, tokens, tokenHash, result, error, m.Kind, m.Method, m.Flags,
            m.TransactionId.Length, m.NodeId.Length, nodes, nodes6, peers, samples, m.Port, m.ErrorCode);
    }

    private readonly record struct Summary(BencodeError ReaderError, int Tokens, ulong TokenHash, KrpcDecodeResult Result,
        KrpcError Error, KrpcKind Kind, KrpcMethod Method, KrpcFlags Flags, int TransactionIdLength, int NodeIdLength,
        int Nodes, int Nodes6, int Peers, int Samples, int Port, long ErrorCode);
}
