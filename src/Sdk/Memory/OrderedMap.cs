namespace Kvm;

/// <summary>
/// An ordered map from ulong keys to values: an AVL tree, so lookups, floor/ceiling searches, inserts and removals
/// cost O(log n), and lookups allocate nothing (they sit on hot paths such as <see cref="MemslotTable.Find"/> during
/// conversions). <see cref="SortedSet{T}"/> offers floor searches only through <c>GetViewBetween</c>, which allocates
/// a view per call; <see cref="SortedList{TKey, TValue}"/> shifts its arrays on insert and remove (O(n)).
/// Not thread-safe: callers lock.
/// </summary>
/// <typeparam name="TValue">The value kept per key.</typeparam>
internal sealed class OrderedMap<TValue>
{
    private Node? _root;
    private Node? _spare;       // removed nodes kept for reuse, chained through Right
    private int _spareCount;
    private const int MaxSpare = 16;

    /// <summary>Number of keys.</summary>
    public int Count { get; private set; }

    /// <summary>The value at <paramref name="key"/>.</summary>
    public bool TryGet(ulong key, out TValue value)
    {
        var n = _root;
        while (n is not null)
        {
            if (key == n.Key)
            {
                value = n.Value;
                return true;
            }
            n = key < n.Key ? n.Left : n.Right;
        }
        value = default!;
        return false;
    }

    /// <summary>The entry with the greatest key ≤ <paramref name="key"/>.</summary>
    public bool TryFloor(ulong key, out ulong found, out TValue value)
    {
        Node? best = null;
        for (var n = _root; n is not null;)
        {
            if (n.Key <= key)
            {
                best = n;
                n = n.Right;
            }
            else
            {
                n = n.Left;
            }
        }
        return Result(best, out found, out value);
    }

    /// <summary>The entry with the least key ≥ <paramref name="key"/>.</summary>
    public bool TryCeiling(ulong key, out ulong found, out TValue value)
    {
        Node? best = null;
        for (var n = _root; n is not null;)
        {
            if (n.Key >= key)
            {
                best = n;
                n = n.Left;
            }
            else
            {
                n = n.Right;
            }
        }
        return Result(best, out found, out value);
    }

    /// <summary>Sets the value at <paramref name="key"/>, inserting the key if it is new.</summary>
    public void Set(ulong key, TValue value) => _root = Insert(_root, key, value);

    /// <summary>Removes <paramref name="key"/>; false when it was absent.</summary>
    public bool Remove(ulong key)
    {
        var before = Count;
        _root = Delete(_root, key);
        return Count < before;
    }

    /// <summary>The entries with keys ≥ <paramref name="key"/>, ascending: O(log n) to start, O(1) amortised per
    /// entry. The map must not change during the walk.</summary>
    public IEnumerable<(ulong Key, TValue Value)> From(ulong key)
    {
        var path = new Stack<Node>();
        for (var n = _root; n is not null;)
        {
            if (n.Key >= key)
            {
                path.Push(n);
                n = n.Left;
            }
            else
            {
                n = n.Right;
            }
        }
        while (path.Count > 0)
        {
            var n = path.Pop();
            yield return (n.Key, n.Value);
            for (var m = n.Right; m is not null; m = m.Left)
                path.Push(m);
        }
    }

    private static bool Result(Node? n, out ulong key, out TValue value)
    {
        (key, value) = n is null ? (0UL, default(TValue)!) : (n.Key, n.Value);
        return n is not null;
    }

    private Node Insert(Node? n, ulong key, TValue value)
    {
        if (n is null)
        {
            Count++;
            return NewNode(key, value);
        }
        if (key == n.Key)
        {
            n.Value = value;
            return n;
        }
        if (key < n.Key)
            n.Left = Insert(n.Left, key, value);
        else
            n.Right = Insert(n.Right, key, value);
        return Rebalance(n);
    }

    private Node? Delete(Node? n, ulong key)
    {
        if (n is null)
            return null;
        if (key < n.Key)
        {
            n.Left = Delete(n.Left, key);
        }
        else if (key > n.Key)
        {
            n.Right = Delete(n.Right, key);
        }
        else
        {
            if (n.Left is null || n.Right is null)
            {
                Count--;
                var child = n.Left ?? n.Right;
                Recycle(n);
                return child;
            }
            // Two children: take the successor's entry, then delete the successor from the right subtree.
            var successor = n.Right;
            while (successor.Left is not null)
                successor = successor.Left;
            n.Key = successor.Key;
            n.Value = successor.Value;
            n.Right = Delete(n.Right, successor.Key);
        }
        return Rebalance(n);
    }

    // A split range is a remove and two inserts: reusing removed nodes keeps steady conversion traffic (private and
    // back, over and over) allocation-free.
    private Node NewNode(ulong key, TValue value)
    {
        if (_spare is not { } n)
            return new Node(key, value);
        _spare = n.Right;
        _spareCount--;
        (n.Key, n.Value, n.Left, n.Right, n.Height) = (key, value, null, null, 1);
        return n;
    }

    private void Recycle(Node n)
    {
        if (_spareCount == MaxSpare)
            return;
        (n.Value, n.Left, n.Right) = (default!, null, _spare);
        _spare = n;
        _spareCount++;
    }

    private static int Height(Node? n) => n?.Height ?? 0;

    private static Node Rebalance(Node n)
    {
        Update(n);
        var balance = Height(n.Left) - Height(n.Right);
        if (balance > 1)
        {
            if (Height(n.Left!.Left) < Height(n.Left.Right))
                n.Left = RotateLeft(n.Left);
            return RotateRight(n);
        }
        if (balance < -1)
        {
            if (Height(n.Right!.Right) < Height(n.Right.Left))
                n.Right = RotateRight(n.Right);
            return RotateLeft(n);
        }
        return n;
    }

    private static Node RotateRight(Node n)
    {
        var l = n.Left!;
        n.Left = l.Right;
        l.Right = n;
        Update(n);
        Update(l);
        return l;
    }

    private static Node RotateLeft(Node n)
    {
        var r = n.Right!;
        n.Right = r.Left;
        r.Left = n;
        Update(n);
        Update(r);
        return r;
    }

    private static void Update(Node n) => n.Height = 1 + Math.Max(Height(n.Left), Height(n.Right));

    private sealed class Node(ulong key, TValue value)
    {
        public ulong Key = key;
        public TValue Value = value;
        public Node? Left;
        public Node? Right;
        public int Height = 1;
    }
}
