namespace Kvm;

/// <summary>How <see cref="KvmSystem.AllocateHostMemory"/> backs anonymous host memory.</summary>
public sealed record HostMemoryOptions
{
    /// <summary>Null (the default): base pages. Otherwise hugetlb pages of this size (<c>MAP_HUGETLB</c> with the size
    /// in the <c>MAP_HUGE_SHIFT</c> bits), e.g. <see cref="HugePageSizes.TwoMiB"/>; the memory's size must then be a
    /// multiple of it, and the pages must have been reserved (<c>/proc/sys/vm/nr_hugepages</c>).</summary>
    public ulong? HugePageSize { get; init; }
}

/// <summary>How <see cref="KvmSystem.AllocateMemfd"/> creates its memfd.</summary>
public sealed record MemfdOptions
{
    /// <summary>The memfd's name, shown as <c>/memfd:NAME</c> in <c>/proc/PID/fd</c> and <c>/proc/PID/maps</c>; at most
    /// 249 UTF-8 bytes, no NUL (memfd_create's EINVAL).</summary>
    public string Name { get; init; } = "kvm-sdk-memory";

    /// <summary>Null (the default): a shmem memfd of base pages. Otherwise <c>MFD_HUGETLB</c> with this size in the
    /// <c>MFD_HUGE_SHIFT</c> bits, e.g. <see cref="HugePageSizes.OneGiB"/>; the size must then be a multiple of it.</summary>
    public ulong? HugePageSize { get; init; }
}

/// <summary>Huge page sizes of x86_64 (arm64 with 4 KiB pages has the same two, plus 64 KiB and 32 MiB).</summary>
public static class HugePageSizes
{
    /// <summary>2 MiB (a PMD).</summary>
    public const ulong TwoMiB = 2UL << 20;

    /// <summary>1 GiB (a PUD).</summary>
    public const ulong OneGiB = 1UL << 30;
}
