using Kvm.Syscalls;

namespace Kvm;

/// <summary>SDK-owned anonymous shared memory, page-aligned, for memslots backed by ordinary host memory: base pages
/// (<c>mmap(MAP_SHARED | MAP_ANONYMOUS)</c>) or reserved huge pages (<c>| MAP_HUGETLB</c> and the size bits). Create
/// it with <see cref="KvmSystem.AllocateHostMemory"/>.</summary>
public sealed unsafe class HostMemory : HostMapping
{
    private HostMemory(IKvmSyscalls sys, byte* address, ulong length, ulong pageSize)
        : base(sys, address, length, new PageStateMap(length, PageState.Shared), 0)
    {
        PageSize = pageSize;
    }

    /// <summary>The page size of this memory: the base page, or the huge page size it was allocated with.</summary>
    public ulong PageSize { get; }

    internal static HostMemory Allocate(IKvmSyscalls sys, ulong size, HostMemoryOptions? options)
    {
        var log2 = HugePages.Log2(options?.HugePageSize, nameof(options.HugePageSize));
        var pageSize = HugePages.PageSize(log2);
        HugePages.RequireMultiple(size, pageSize, allowZero: false, nameof(size), "host memory size");
        int errno;
        var p = log2 == 0 ? sys.MmapShared((nuint)size, -1, 0, out errno) : sys.MmapAnonymousHuge((nuint)size, log2, out errno);
        if (p == null)
            Fail.Syscall(-errno, "mmap", KvmFdKind.None, log2 == 0
                ? $"anonymous shared mapping of {size} bytes"
                : HugePages.Explain(errno, pageSize, size, "anonymous MAP_HUGETLB mapping"));
        try
        {
            return new HostMemory(sys, (byte*)p, size, pageSize);
        }
        catch
        {
            sys.Munmap(p, (nuint)size); // e.g. the page-state map did not fit: nothing may keep the memory mapped
            throw;
        }
    }
}
