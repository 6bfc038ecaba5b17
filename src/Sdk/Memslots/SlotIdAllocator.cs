namespace Kvm;

/// <summary>
/// The slot ids of one address space: hands out the lowest free id and takes back freed ones, each in O(log n).
/// Ids below <see cref="_neverUsed"/> that are free sit in a sorted set; ids from <see cref="_neverUsed"/> up have
/// never been taken. The lowest free id is therefore the set's minimum, or <see cref="_neverUsed"/> when it is empty.
/// Not thread-safe: the memslot table's lock covers it.
/// </summary>
internal sealed class SlotIdAllocator
{
    private readonly SortedSet<int> _freedBelowHighWater = new();
    private readonly int _limit;
    private int _neverUsed;

    /// <summary>Ids 0 .. <paramref name="limit"/> − 1, all free.</summary>
    public SlotIdAllocator(int limit) => _limit = limit;

    /// <summary>The lowest free id, or null when every id is taken.</summary>
    public int? LowestFree =>
        _freedBelowHighWater.Count > 0 ? _freedBelowHighWater.Min : _neverUsed < _limit ? _neverUsed : null;

    /// <summary>Marks <paramref name="id"/> (free, below the limit) as taken.</summary>
    public void Take(int id)
    {
        if (id < _neverUsed)
        {
            _freedBelowHighWater.Remove(id);
            return;
        }
        // Jumping past the high-water mark frees the ids skipped over. Each id is skipped at most once in the
        // table's life (the mark only rises), so this loop costs O(log n) per id amortised.
        for (var skipped = _neverUsed; skipped < id; skipped++)
            _freedBelowHighWater.Add(skipped);
        _neverUsed = id + 1;
    }

    /// <summary>Returns a taken <paramref name="id"/> to the free ids.</summary>
    public void Free(int id) => _freedBelowHighWater.Add(id);
}
