namespace PcapDht.Synth.Population;

/// <summary>One query of a simulated lookup: whom it went to and, if it was answered, the contacts returned.</summary>
public readonly record struct SimulatedQuery(int Node, bool Answered, int[] Contacts);

/// <summary>A lookup as the querier ran it, round by round (a round's queries go out together).</summary>
public sealed class SimulatedLookup
{
    public required ulong Target { get; init; }
    public required IReadOnlyList<IReadOnlyList<SimulatedQuery>> Rounds { get; init; }
    /// <summary>The initial contacts, from the querier's own routing table.</summary>
    public required int[] Seeds { get; init; }

    /// <summary>
    /// True when the lookup ended with <see cref="IdPopulation.BucketSize"/> closest candidates that all answered;
    /// false when it ran out of candidates first (too many timeouts among a small neighbourhood).
    /// </summary>
    public required bool Converged { get; init; }
}

/// <summary>
/// Runs iterative Kademlia lookups (BEP 5: find_node / get_peers) in an <see cref="IdPopulation"/>:
/// start from the querier's own table, query the <see cref="Alpha"/> closest unqueried candidates per
/// round, add the contacts each answer brings, and stop when the <see cref="IdPopulation.BucketSize"/>
/// closest candidates that did not time out have all answered (libtorrent's and the paper's rule).
/// </summary>
public sealed class LookupSimulator(IdPopulation population, ulong seed)
{
    private readonly SynthRandom _rng = new(seed);

    /// <summary>Queries in flight per round (Kademlia's α; libtorrent sends 3 at first).</summary>
    public int Alpha { get; init; } = 3;

    /// <summary>Probability that a query is never answered (loss, NAT, a node that went away).</summary>
    public double Timeout { get; init; } = 0.15;

    public SimulatedLookup Run(ulong self, ulong target)
    {
        int k = IdPopulation.BucketSize;
        Span<int> answer = stackalloc int[k];
        // Candidates by distance; state 0 new, 1 answered, 2 timed out.
        var state = new Dictionary<int, byte>();
        var order = new SortedSet<(ulong Distance, int Node)>();
        int n = population.Answer(self, target, answer);
        var seeds = answer[..n].ToArray();
        foreach (int c in seeds)
            if (state.TryAdd(c, 0)) order.Add((population.Prefix(c) ^ target, c));

        var rounds = new List<IReadOnlyList<SimulatedQuery>>();
        var pick = new List<int>(Alpha);
        bool converged;
        while (true)
        {
            pick.Clear();
            int live = 0;
            foreach (var (_, node) in order)
            {
                byte s = state[node];
                if (s == 2) continue;
                if (s == 0 && pick.Count < Alpha) pick.Add(node);
                if (++live == k) break;
            }
            if (pick.Count == 0)
            {
                converged = live == k;
                break;
            }
            var round = new List<SimulatedQuery>(pick.Count);
            foreach (int node in pick)
            {
                if (_rng.Chance(Timeout))
                {
                    state[node] = 2;
                    round.Add(new SimulatedQuery(node, false, []));
                    continue;
                }
                state[node] = 1;
                n = population.Answer(population.Prefix(node), target, answer);
                var contacts = answer[..n].ToArray();
                foreach (int c in contacts)
                    if (state.TryAdd(c, 0)) order.Add((population.Prefix(c) ^ target, c));
                round.Add(new SimulatedQuery(node, true, contacts));
            }
            rounds.Add(round);
        }
        return new SimulatedLookup { Target = target, Rounds = rounds, Seeds = seeds, Converged = converged };
    }
}
