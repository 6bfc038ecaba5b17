using System.Runtime.InteropServices;
using System.Text;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// SDK-owned memory in a memfd (<c>memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING)</c>, optionally <c>MFD_HUGETLB</c>),
/// sized with <c>ftruncate</c>, sealed against shrinking (<c>F_SEAL_SHRINK</c>, so no process holding the fd can cut
/// pages from under a lease or a memslot: that would be a SIGBUS) and mapped <c>mmap(MAP_SHARED)</c>. The fd can be
/// shared with another process (vhost-user back-ends, live update) through <see cref="Fd"/>. Create it with
/// <see cref="KvmSystem.AllocateMemfd"/>.
/// </summary>
public sealed unsafe class MemfdMemory : HostMapping
{
    private readonly KvmFdHandle _fd;

    private MemfdMemory(IKvmSyscalls sys, byte* address, ulong length, ulong pageSize, KvmFdHandle fd, string name)
        : base(sys, address, length, new PageStateMap(length, PageState.Shared), 0, fd)
    {
        _fd = fd;
        PageSize = pageSize;
        Name = name;
    }

    /// <summary>The memfd, owned by this object and closed by <see cref="HostMapping.Dispose"/> (the mapping keeps the
    /// file alive without it). To pass it on (SCM_RIGHTS, exec), read its number with
    /// <see cref="SafeHandle.DangerousGetHandle"/> under <see cref="SafeHandle.DangerousAddRef"/>, which also keeps the fd
    /// open past Dispose until the matching <see cref="SafeHandle.DangerousRelease"/>. It is close-on-exec.</summary>
    /// <exception cref="ObjectDisposedException">The memory was disposed.</exception>
    public SafeHandle Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _fd;
        }
    }

    /// <summary>The page size: the base page, or the huge page size given in <see cref="MemfdOptions.HugePageSize"/>.</summary>
    public ulong PageSize { get; }

    /// <summary>The memfd's name (<c>/memfd:NAME</c> in /proc).</summary>
    public string Name { get; }

    private protected override string What => "memfd memory";

    internal static MemfdMemory Allocate(IKvmSyscalls sys, ulong size, MemfdOptions? options)
    {
        options ??= new MemfdOptions();
        ArgumentNullException.ThrowIfNull(options.Name, nameof(options.Name));
        if (options.Name.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(options.Name) > 249)
            Fail.Argument(nameof(options.Name), "a memfd name is at most 249 UTF-8 bytes without NUL (memfd_create: EINVAL)");
        var log2 = HugePages.Log2(options.HugePageSize, nameof(options.HugePageSize));
        var pageSize = HugePages.PageSize(log2);
        HugePages.RequireMultiple(size, pageSize, allowZero: false, nameof(size), "memfd size");
        if (size > long.MaxValue)
            Fail.Range(nameof(size), size, "a file size is at most 2^63-1 bytes (ftruncate: EINVAL)");

        var raw = sys.MemfdCreate(options.Name, log2);
        if (raw < 0)
            Fail.Syscall(raw, "memfd_create", KvmFdKind.None, log2 == 0
                ? $"memfd \"{options.Name}\""
                : HugePages.Explain(-raw, pageSize, size, $"memfd \"{options.Name}\" with MFD_HUGETLB"));
        var fd = new KvmFdHandle(raw, sys, KvmFdKind.Memfd);
        var address = (void*)null;
        try
        {
            var rc = sys.Ftruncate(raw, (long)size);
            if (rc < 0)
                Fail.Syscall(rc, "ftruncate", KvmFdKind.Memfd, $"sizing memfd \"{options.Name}\" to {size} bytes");
            rc = sys.SealShrink(raw);
            if (rc < 0)
                Fail.Syscall(rc, "fcntl(F_ADD_SEALS, F_SEAL_SHRINK)", KvmFdKind.Memfd, $"memfd \"{options.Name}\"");
            address = sys.MmapShared((nuint)size, raw, 0, out var errno);
            if (address == null)
                Fail.Syscall(-errno, "mmap", KvmFdKind.Memfd, log2 == 0
                    ? $"MAP_SHARED mapping of memfd \"{options.Name}\", {size} bytes"
                    : HugePages.Explain(errno, pageSize, size, $"MAP_SHARED mapping of hugetlb memfd \"{options.Name}\""));
            return new MemfdMemory(sys, (byte*)address, size, pageSize, fd, options.Name);
        }
        catch
        {
            // The kernel objects go at once, not at the next GC: a VMM retrying in a loop must not pile up fds.
            if (address != null)
                sys.Munmap(address, (nuint)size);
            fd.Dispose();
            throw;
        }
    }
}
