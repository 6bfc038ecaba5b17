using System.Numerics;
using Kvm.Interop;

namespace Kvm;

/// <summary>The page-size rules of hugetlb memory and the words for the kernel's hugetlb refusals.</summary>
internal static class HugePages
{
    /// <summary>log2 of <paramref name="hugePageSize"/>, or 0 for null (base pages). A huge page size is a power of two
    /// above the base page that fits the 6 size bits of MAP_HUGE_SHIFT / MFD_HUGE_SHIFT; which sizes exist is the
    /// kernel's answer (EINVAL / ENODEV), not a rule checked here.</summary>
    public static int Log2(ulong? hugePageSize, string paramName)
    {
        if (hugePageSize is not { } size)
            return 0;
        if (!BitOperations.IsPow2(size) || size <= (ulong)Pages.Size)
            Fail.Range(paramName, size,
                $"a huge page size must be a power of two above the {Pages.Size}-byte base page (2 MiB or 1 GiB on x86_64)");
        return BitOperations.Log2(size);
    }

    /// <summary>The page size of a kind: the huge page size, or the base page.</summary>
    public static ulong PageSize(int log2) => log2 == 0 ? (ulong)Pages.Size : 1UL << log2;

    /// <summary>Sizes and offsets of a kind are whole pages of that kind (hugetlb: mmap and munmap refuse anything else).</summary>
    public static void RequireMultiple(ulong value, ulong pageSize, bool allowZero, string paramName, string what)
    {
        if ((value == 0 && !allowZero) || value % pageSize != 0)
            Fail.Range(paramName, value,
                $"{what} must be a {(allowZero ? "" : "non-zero ")}multiple of the {Describe(pageSize)} page of this memory"
                + (pageSize > (ulong)Pages.Size ? " (hugetlb memory is mapped and unmapped in whole huge pages)" : ""));
    }

    public static string Describe(ulong bytes) => bytes switch
    {
        >= 1UL << 30 when bytes % (1UL << 30) == 0 => $"{bytes >> 30} GiB",
        >= 1UL << 20 when bytes % (1UL << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1UL << 10 when bytes % (1UL << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes}-byte",
    };

    /// <summary>Why a hugetlb call failed, in words a VMM author can act on.</summary>
    public static string Explain(int errno, ulong pageSize, ulong length, string what)
    {
        var kb = pageSize >> 10;
        return (Errno)errno switch
        {
            Errno.ENOMEM =>
                $"{what}: not enough free {Describe(pageSize)} huge pages for {length} bytes — huge pages must be reserved "
                + $"first (/proc/sys/vm/nr_hugepages for the default size, /sys/kernel/mm/hugepages/hugepages-{kb}kB/nr_hugepages "
                + "for any size); HugePages_Free in /proc/meminfo shows what is left",
            Errno.EINVAL or Errno.ENODEV =>
                $"{what}: this kernel has no {Describe(pageSize)} huge pages (its sizes are the hugepages-*kB directories "
                + "under /sys/kernel/mm/hugepages)",
            _ => $"{what} ({Describe(pageSize)} huge pages, {length} bytes)",
        };
    }
}
