using Kvm.Syscalls;

namespace Kvm;

/// <summary>SDK-owned anonymous shared memory (<c>mmap(MAP_SHARED | MAP_ANONYMOUS)</c>), page-aligned, for
/// memslots backed by ordinary host memory. Create it with <see cref="KvmSystem.AllocateHostMemory"/>.</summary>
public sealed unsafe class HostMemory : HostMapping
{
    private HostMemory(IKvmSyscalls sys, byte* address, ulong length)
        : base(sys, address, length, new PageStateMap(length, PageState.Shared), 0)
    {
    }

    internal static HostMemory Allocate(IKvmSyscalls sys, ulong size)
    {
        Kvm.Pages.RequireNonZeroAligned(size, nameof(size), "host memory size");
        var p = sys.MmapShared((nuint)size, -1, 0, out var errno);
        if (p == null)
            Fail.Syscall(-errno, "mmap", KvmFdKind.None, $"anonymous shared mapping of {size} bytes");
        return new HostMemory(sys, (byte*)p, size);
    }
}
