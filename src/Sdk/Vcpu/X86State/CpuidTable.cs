using Kvm.Interop.X86_64;

namespace Kvm;

/// <summary>
/// An editable CPUID model: the entries of <c>struct kvm_cpuid2</c>, as <see cref="KvmSystem.GetSupportedCpuid"/>
/// returns them and <see cref="VcpuFd.SetCpuid2"/> takes them. Leaves are found by function and, for entries flagged
/// <c>KVM_CPUID_FLAG_SIGNIFCANT_INDEX</c>, index (sub-leaf); other entries match any index, as the CPU does.
/// Not thread-safe.
/// </summary>
public sealed class CpuidTable
{
    /// <summary><c>KVM_MAX_CPUID_ENTRIES</c> (kernel-internal, <c>asm/kvm_host.h</c>): the most entries
    /// <c>KVM_SET_CPUID2</c> accepts (E2BIG beyond).</summary>
    public const int MaxEntries = 256;

    private readonly List<kvm_cpuid_entry2> _entries;

    /// <summary>An empty table.</summary>
    public CpuidTable() => _entries = new List<kvm_cpuid_entry2>();

    /// <summary>A table holding a copy of <paramref name="entries"/>.</summary>
    public CpuidTable(ReadOnlySpan<kvm_cpuid_entry2> entries) => _entries = new List<kvm_cpuid_entry2>(entries.ToArray());

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>The entries, in order (valid until the table is changed).</summary>
    public ReadOnlySpan<kvm_cpuid_entry2> Entries => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_entries);

    /// <summary>The entry at position <paramref name="i"/>, editable in place.</summary>
    public ref kvm_cpuid_entry2 this[int i]
    {
        get
        {
            if ((uint)i >= (uint)_entries.Count)
                Fail.Range(nameof(i), i, $"the table has {_entries.Count} entries");
            return ref System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_entries)[i];
        }
    }

    /// <summary>The position of leaf <paramref name="function"/>/<paramref name="index"/>, or -1.</summary>
    public int IndexOf(uint function, uint index = 0)
    {
        var span = Entries;
        for (var i = 0; i < span.Length; i++)
            if (span[i].function == function &&
                ((span[i].flags & ArchConstants.KVM_CPUID_FLAG_SIGNIFCANT_INDEX) == 0 || span[i].index == index))
                return i;
        return -1;
    }

    /// <summary>True when the table has leaf <paramref name="function"/>/<paramref name="index"/>.</summary>
    public bool Contains(uint function, uint index = 0) => IndexOf(function, index) >= 0;

    /// <summary>The entry for leaf <paramref name="function"/>/<paramref name="index"/>, editable in place.</summary>
    /// <exception cref="KeyNotFoundException">No such leaf.</exception>
    public ref kvm_cpuid_entry2 Find(uint function, uint index = 0)
    {
        var i = IndexOf(function, index);
        if (i < 0)
            throw new KeyNotFoundException($"CPUID leaf 0x{function:X}.{index} is not in the table");
        return ref this[i];
    }

    /// <summary>Replaces the registers of leaf <paramref name="function"/>/<paramref name="index"/>, or appends the leaf
    /// (flagged <c>KVM_CPUID_FLAG_SIGNIFCANT_INDEX</c> when <paramref name="index"/> is not 0).</summary>
    public void Set(uint function, uint index, uint eax, uint ebx, uint ecx, uint edx)
    {
        var i = IndexOf(function, index);
        if (i < 0)
        {
            _entries.Add(new kvm_cpuid_entry2
            {
                function = function,
                index = index,
                flags = index != 0 ? (uint)ArchConstants.KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
            });
            i = _entries.Count - 1;
        }
        ref var e = ref this[i];
        e.eax = eax;
        e.ebx = ebx;
        e.ecx = ecx;
        e.edx = edx;
    }

    /// <summary>Removes leaf <paramref name="function"/>/<paramref name="index"/>; false when absent.</summary>
    public bool Remove(uint function, uint index = 0)
    {
        var i = IndexOf(function, index);
        if (i < 0)
            return false;
        _entries.RemoveAt(i);
        return true;
    }

    /// <summary>Appends an entry as given.</summary>
    public void Add(in kvm_cpuid_entry2 entry) => _entries.Add(entry);

    /// <summary>A copy.</summary>
    public CpuidTable Clone() => new(Entries);

    /// <summary>True when both tables have the same entries in the same order, compared as the kernel compares them
    /// after the first KVM_RUN (function, index, flags, eax, ebx, ecx, edx; padding ignored).</summary>
    public bool ContentEquals(CpuidTable other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ReadOnlySpan<kvm_cpuid_entry2> a = Entries, b = other.Entries;
        if (a.Length != b.Length)
            return false;
        for (var i = 0; i < a.Length; i++)
            if (a[i].function != b[i].function || a[i].index != b[i].index || a[i].flags != b[i].flags ||
                a[i].eax != b[i].eax || a[i].ebx != b[i].ebx || a[i].ecx != b[i].ecx || a[i].edx != b[i].edx)
                return false;
        return true;
    }
}
