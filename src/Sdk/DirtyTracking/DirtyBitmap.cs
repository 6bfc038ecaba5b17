using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kvm;

/// <summary>
/// A reusable dirty bitmap for one memslot: bit <c>i</c> is page <c>i</c> of the slot, 64 pages per word, the layout
/// <c>KVM_GET_DIRTY_LOG</c> writes and <c>KVM_CLEAR_DIRTY_LOG</c> reads. Allocated once (on the pinned heap, so the
/// kernel can be handed its address without pinning per call); <see cref="SlotHandle.GetDirtyLog"/> refills it and
/// <see cref="GetEnumerator"/> walks the dirty pages without allocating.
/// </summary>
public sealed class DirtyBitmap
{
    private readonly ulong[] _words;

    /// <summary>A bitmap of <paramref name="pageCount"/> pages, all clean.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pageCount"/> is 0 or above 2^31-1
    /// (<c>KVM_MEM_MAX_NR_PAGES</c>).</exception>
    public DirtyBitmap(ulong pageCount)
    {
        if (pageCount == 0 || pageCount > int.MaxValue)
            Fail.Range(nameof(pageCount), pageCount, "a dirty bitmap covers 1 .. 2^31-1 pages (KVM_MEM_MAX_NR_PAGES)");
        PageCount = pageCount;
        _words = GC.AllocateArray<ulong>((int)((pageCount + 63) / 64), pinned: true);
    }

    /// <summary>A bitmap sized for <paramref name="slot"/> (its size in pages).</summary>
    public static DirtyBitmap For(SlotHandle slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        return new DirtyBitmap(slot.Size / (ulong)Pages.Size) { BaseGpa = slot.GuestPhysicalAddress };
    }

    /// <summary>Pages covered.</summary>
    public ulong PageCount { get; }

    /// <summary>The guest-physical address of page 0: the slot's address at the last <see cref="SlotHandle.GetDirtyLog"/>.</summary>
    public ulong BaseGpa { get; internal set; }

    /// <summary>The raw words (bit <c>i % 64</c> of word <c>i / 64</c> is page <c>i</c>); writable, so a caller can
    /// choose which pages <see cref="SlotHandle.ClearDirtyLog"/> re-protects.</summary>
    public Span<ulong> Words => _words;

    /// <summary>True when page <paramref name="page"/> is marked dirty.</summary>
    public bool IsDirty(ulong page)
    {
        if (page >= PageCount)
            Fail.Range(nameof(page), page, $"page index must be below {PageCount}");
        return (_words[page / 64] & (1UL << (int)(page % 64))) != 0;
    }

    /// <summary>Number of dirty pages.</summary>
    public int CountDirty()
    {
        var n = 0;
        foreach (var w in _words)
            n += BitOperations.PopCount(w);
        return n;
    }

    /// <summary>The guest-physical address of page <paramref name="page"/>.</summary>
    public ulong GpaOf(ulong page) => BaseGpa + page * (ulong)Pages.Size;

    /// <summary>Marks every page clean.</summary>
    public void Clear() => Array.Clear(_words);

    /// <summary>Walks the dirty page indices in ascending order, without allocating.</summary>
    public Enumerator GetEnumerator() => new(_words);

    // SAFETY: _words lives on the pinned object heap (GC.AllocateArray pinned: true), so its address is stable for the
    // bitmap's life; callers keep the bitmap reachable across the ioctl that uses the pointer.
    internal unsafe ulong* WordPointer(int word) =>
        (ulong*)Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_words), word));

    /// <summary>Dirty page indices of a <see cref="DirtyBitmap"/>.</summary>
    public struct Enumerator
    {
        private readonly ulong[] _words;
        private int _word;
        private ulong _rest;

        internal Enumerator(ulong[] words)
        {
            _words = words;
            _word = -1;
            _rest = 0;
            Current = 0;
        }

        /// <summary>The current dirty page index.</summary>
        public ulong Current { get; private set; }

        /// <summary>Advances to the next dirty page.</summary>
        public bool MoveNext()
        {
            while (_rest == 0)
            {
                if (++_word >= _words.Length)
                    return false;
                _rest = _words[_word];
            }
            var bit = BitOperations.TrailingZeroCount(_rest);
            _rest &= _rest - 1;
            Current = (ulong)_word * 64 + (ulong)bit;
            return true;
        }
    }
}
