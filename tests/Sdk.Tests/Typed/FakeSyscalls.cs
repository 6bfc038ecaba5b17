using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm.Tests.Typed;

/// <summary>A scripted kernel: records every call; ioctl results come from handlers keyed by request number;
/// capabilities from a dictionary; mmap returns real anonymous memory so spans work.</summary>
internal sealed unsafe class FakeSyscalls : IKvmSyscalls
{
    public delegate int IoctlHandler(int fd, nuint request, void* arg);

    private int _nextFd = 100;
    public readonly ConcurrentQueue<string> Calls = new();
    public bool Record = true;
    public readonly ConcurrentDictionary<int, int> Caps = new();
    public readonly ConcurrentDictionary<nuint, IoctlHandler> Handlers = new();
    public readonly ConcurrentDictionary<int, bool> Open = new();
    public int CloexecSet;
    public readonly ConcurrentDictionary<int, nint> Mappings = new();

    public FakeSyscalls()
    {
        Caps[(int)KvmCap.KVM_CAP_CHECK_EXTENSION_VM] = 1;
        Caps[(int)KvmCap.KVM_CAP_NR_MEMSLOTS] = 32764;
        Caps[(int)KvmCap.KVM_CAP_MULTI_ADDRESS_SPACE] = 2;
        Caps[(int)KvmCap.KVM_CAP_USER_MEMORY2] = 1;
        Caps[(int)KvmCap.KVM_CAP_GUEST_MEMFD] = 1;
        Caps[(int)KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS] = 3;
        Caps[(int)KvmCap.KVM_CAP_VM_TYPES] = 0b11;
        Caps[(int)KvmCap.KVM_CAP_READONLY_MEM] = 1;
    }

    public int NewFd()
    {
        var fd = Interlocked.Increment(ref _nextFd);
        Open[fd] = true;
        return fd;
    }

    public int Count(string prefix) => Calls.Count(c => c.StartsWith(prefix, StringComparison.Ordinal));

    public int OpenReadWriteCloexec(string path)
    {
        Calls.Enqueue($"open {path}");
        return NewFd();
    }

    public int Ioctl(int fd, nuint request, void* arg)
    {
        if (Record)
            Calls.Enqueue($"ioctl 0x{(ulong)request:X}");
        if (Handlers.TryGetValue(request, out var h))
            return h(fd, request, arg);
        if (request == KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value)
            return NewFd();
        return 0;
    }

    public int Ioctl(int fd, nuint request, nint arg)
    {
        if (Record)
            Calls.Enqueue($"ioctl 0x{(ulong)request:X} {arg}");
        if (Handlers.TryGetValue(request, out var h))
            return h(fd, request, (void*)arg);
        if (request == KvmIoctls.KVM_GET_API_VERSION.Value)
            return KvmConstants.KVM_API_VERSION;
        if (request == KvmIoctls.KVM_CHECK_EXTENSION.Value)
            return Caps.TryGetValue((int)arg, out var v) ? v : 0;
        if (request == KvmIoctls.KVM_CREATE_VM.Value || request == KvmIoctls.KVM_CREATE_VCPU.Value)
            return NewFd();
        if (request == KvmIoctls.KVM_GET_VCPU_MMAP_SIZE.Value)
            return 4096 * 3;
        return 0;
    }

    public int Close(int fd)
    {
        Calls.Enqueue($"close {fd}");
        Open.TryRemove(fd, out _);
        return 0;
    }

    /// <summary>When set, mmap (shared, fixed, huge) fails with this errno.</summary>
    public int? MmapErrno;

    public void* MmapShared(nuint length, int fd, long offset, out int errno)
    {
        Calls.Enqueue($"mmap {fd}");
        if (MmapErrno is { } e)
        {
            errno = e;
            return null;
        }
        errno = 0;
        var p = NativeMemory.AlignedAlloc(length, (nuint)Environment.SystemPageSize);
        NativeMemory.Clear(p, length);
        Mappings[fd] = (nint)p;
        return p;
    }

    public int Munmap(void* address, nuint length)
    {
        Calls.Enqueue("munmap");
        NativeMemory.AlignedFree(address);
        return 0;
    }

    public void* Reserve(nuint length, out int errno)
    {
        Calls.Enqueue("reserve");
        errno = 0;
        return NativeMemory.AlignedAlloc(length, (nuint)Environment.SystemPageSize);
    }

    public int MmapSharedFixed(void* address, nuint length, int fd, long offset)
    {
        Calls.Enqueue($"mmap {fd}");
        NativeMemory.Clear(address, length);
        Mappings[fd] = (nint)address;
        return 0;
    }

    /// <summary>Addresses retired to zero pages (a kvm_run whose vCPU was released).</summary>
    public readonly ConcurrentQueue<nint> Retired = new();

    public int ReplaceWithZeroPages(void* address, nuint length)
    {
        Calls.Enqueue("retire");
        NativeMemory.Clear(address, length);
        Retired.Enqueue((nint)address);
        return 0;
    }

    public Func<int, int, long, long, int>? FallocateResult;

    public int Fallocate(int fd, int mode, long offset, long length)
    {
        Calls.Enqueue($"fallocate {mode} {offset} {length}");
        return FallocateResult?.Invoke(fd, mode, offset, length) ?? 0;
    }

    /// <summary>What SetCloexec answers (0, or -errno to script a failure right after a kernel object exists).</summary>
    public int CloexecResult;

    public int SetCloexec(int fd)
    {
        Calls.Enqueue($"cloexec {fd}");
        Interlocked.Increment(ref CloexecSet);
        return CloexecResult;
    }

    public int GetCloexec(int fd) => 1;

    public int FstatSize(int fd, out long size)
    {
        size = 0;
        return 0;
    }

    /// <summary>memfd_create's result when set (a -errno); else a new fd.</summary>
    public int? MemfdResult;

    public int MemfdCreate(string name, int hugePageLog2)
    {
        Calls.Enqueue($"memfd_create {name} {hugePageLog2}");
        return MemfdResult ?? NewFd();
    }

    public int? FtruncateResult;

    public int Ftruncate(int fd, long length)
    {
        Calls.Enqueue($"ftruncate {fd} {length}");
        return FtruncateResult ?? 0;
    }

    public int SealShrink(int fd)
    {
        Calls.Enqueue($"seal {fd}");
        return 0;
    }

    public void* MmapAnonymousHuge(nuint length, int hugePageLog2, out int errno)
    {
        Calls.Enqueue($"mmap huge {hugePageLog2}");
        if (MmapErrno is { } e)
        {
            errno = e;
            return null;
        }
        errno = 0;
        var p = NativeMemory.AlignedAlloc(length, (nuint)Environment.SystemPageSize);
        NativeMemory.Clear(p, length);
        return p;
    }

    /// <summary>What fstat and fstatfs say about every file.</summary>
    public long FileSize;
    public bool FileIsRegular = true;
    public long FsType = 0xEF53; // EXT4_SUPER_MAGIC
    public long FsBlockSize = 4096;

    public int FstatFile(int fd, out long size, out bool isRegular)
    {
        Calls.Enqueue($"fstat {fd}");
        size = FileSize;
        isRegular = FileIsRegular;
        return 0;
    }

    public int Fstatfs(int fd, out long fsType, out long blockSize)
    {
        Calls.Enqueue($"fstatfs {fd}");
        fsType = FsType;
        blockSize = FsBlockSize;
        return 0;
    }

    /// <summary>Eventfd counters by fd (the fake's eventfds count like the kernel's).</summary>
    public readonly ConcurrentDictionary<int, ulong> EventFds = new();

    public int EventFdCloexecNonblock()
    {
        var fd = NewFd();
        Calls.Enqueue($"eventfd {fd}");
        EventFds[fd] = 0;
        return fd;
    }

    public int Read(int fd, void* buffer, nuint count)
    {
        if (Record)
            Calls.Enqueue($"read {fd}");
        if (!EventFds.TryGetValue(fd, out var v))
            return -(int)Errno.EBADF;
        if (v == 0)
            return -(int)Errno.EAGAIN;
        EventFds[fd] = 0;
        *(ulong*)buffer = v;
        return 8;
    }

    public int Write(int fd, void* buffer, nuint count)
    {
        if (Record)
            Calls.Enqueue($"write {fd}");
        if (!EventFds.TryGetValue(fd, out var v))
            return -(int)Errno.EBADF;
        EventFds[fd] = v + *(ulong*)buffer;
        return 8;
    }

    /// <summary>The bytes a pread of any fd reads (a scripted stats file); empty = EOF.</summary>
    public byte[] PreadFile = [];

    public int Pread(int fd, void* buffer, nuint count, long offset)
    {
        if (Record)
            Calls.Enqueue($"pread {fd} {offset} {count}");
        if (offset >= PreadFile.Length)
            return 0;
        var n = (int)Math.Min((long)count, PreadFile.Length - offset);
        PreadFile.AsSpan((int)offset, n).CopyTo(new Span<byte>(buffer, n));
        return n;
    }

    public int PollIn(int fd, int timeoutMs)
    {
        Calls.Enqueue($"poll {fd}");
        return EventFds.TryGetValue(fd, out var v) && v > 0 ? 1 : 0;
    }

    /// <summary>Module parameters by "module/name" (absent = the parameter does not exist).</summary>
    public readonly ConcurrentDictionary<string, string> ModuleParameters = new();

    public string? ReadModuleParameter(string module, string name) =>
        ModuleParameters.TryGetValue($"{module}/{name}", out var v) ? v : null;

    /// <summary>madvise(MADV_REMOVE) calls as (address, length); the result is always 0.</summary>
    public readonly ConcurrentQueue<(nint Address, nuint Length)> Removed = new();

    public int MadviseRemove(void* address, nuint length)
    {
        Calls.Enqueue($"madvise remove {length}");
        Removed.Enqueue(((nint)address, length));
        return 0;
    }
}
