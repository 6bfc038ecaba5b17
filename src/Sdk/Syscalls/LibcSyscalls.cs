using System.Runtime.InteropServices;
using Kvm.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.Syscalls;

/// <summary>The real syscalls: Tmds.LibC for open/close/mmap/munmap/fallocate/fcntl/fstat/memfd_create/ftruncate, our
/// own imports for ioctl (<see cref="Sys"/>: the unsigned request number) and fstatfs (<see cref="Statfs"/>: not in
/// Tmds.LibC).</summary>
internal sealed unsafe class LibcSyscalls : IKvmSyscalls
{
    public static readonly LibcSyscalls Instance = new();

    private static int Result(int rc) => rc < 0 ? -Marshal.GetLastPInvokeError() : rc;

    public int OpenReadWriteCloexec(string path)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(path);
        Span<byte> buf = bytes < 512 ? stackalloc byte[bytes + 1] : new byte[bytes + 1];
        System.Text.Encoding.UTF8.GetBytes(path, buf);
        buf[bytes] = 0;
        // SAFETY: `buf` is a NUL-terminated UTF-8 copy of the path, pinned for the call; open only reads it.
        fixed (byte* p = buf)
            return Result(open(p, O_RDWR | O_CLOEXEC, default));
    }

    public int Ioctl(int fd, nuint request, void* arg) => Result(Sys.Ioctl(fd, request, arg));

    public int Ioctl(int fd, nuint request, nint arg) => Result(Sys.Ioctl(fd, new Interop.Ioctl(request, ""), arg));

    public int Close(int fd) => Result(close(fd));

    public void* MmapShared(nuint length, int fd, long offset, out int errno)
    {
        var flags = MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0);
        var p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, flags, fd, offset);
        if (p == MAP_FAILED)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return p;
    }

    public int Munmap(void* address, nuint length) => Result(munmap(address, (size_t)length));

    public void* Reserve(nuint length, out int errno)
    {
        var p = mmap(null, (size_t)length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        errno = p == MAP_FAILED ? Marshal.GetLastPInvokeError() : 0;
        return p == MAP_FAILED ? null : p;
    }

    public int MmapSharedFixed(void* address, nuint length, int fd, long offset)
    {
        var p = mmap(address, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, offset);
        return p == MAP_FAILED ? -Marshal.GetLastPInvokeError() : 0;
    }

    public int ReplaceWithZeroPages(void* address, nuint length)
    {
        var p = mmap(address, (size_t)length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
        return p == MAP_FAILED ? -Marshal.GetLastPInvokeError() : 0;
    }

    public int Fallocate(int fd, int mode, long offset, long length) => Result(fallocate(fd, mode, offset, length));

    public int SetCloexec(int fd) => Result(fcntl(fd, F_SETFD, FD_CLOEXEC));

    public int GetCloexec(int fd)
    {
        var rc = Result(fcntl(fd, F_GETFD));
        return rc < 0 ? rc : ((rc & FD_CLOEXEC) != 0 ? 1 : 0);
    }

    public int MemfdCreate(string name, int hugePageLog2)
    {
        var flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
        if (hugePageLog2 != 0)
            flags |= MFD_HUGETLB | (uint)(hugePageLog2 << MAP_HUGE_SHIFT); // MFD_HUGE_SHIFT == MAP_HUGE_SHIFT (26)
        var bytes = System.Text.Encoding.UTF8.GetByteCount(name);
        Span<byte> buf = bytes < 512 ? stackalloc byte[bytes + 1] : new byte[bytes + 1];
        System.Text.Encoding.UTF8.GetBytes(name, buf);
        buf[bytes] = 0;
        // SAFETY: `buf` is a NUL-terminated UTF-8 copy of the name, pinned for the call; memfd_create only reads it.
        fixed (byte* p = buf)
            return Result(memfd_create(p, flags));
    }

    public int Ftruncate(int fd, long length) => Result(ftruncate(fd, length));

    public int SealShrink(int fd) => Result(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));

    public void* MmapAnonymousHuge(nuint length, int hugePageLog2, out int errno)
    {
        var flags = MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | (hugePageLog2 << MAP_HUGE_SHIFT);
        var p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, flags, -1, 0);
        errno = p == MAP_FAILED ? Marshal.GetLastPInvokeError() : 0;
        return p == MAP_FAILED ? null : p;
    }

    public int FstatFile(int fd, out long size, out bool isRegular)
    {
        stat st;
        // SAFETY: `st` is a stack local of the libc struct stat layout that Tmds.LibC declares; fstat fills it.
        var rc = Result(fstat(fd, &st));
        size = rc < 0 ? 0 : (long)st.st_size;
        isRegular = rc >= 0 && ((uint)st.st_mode & (uint)S_IFMT) == (uint)S_IFREG;
        return rc;
    }

    public int Fstatfs(int fd, out long fsType, out long blockSize) => Result(Statfs.Get(fd, out fsType, out blockSize));

    public int FstatSize(int fd, out long size)
    {
        stat st;
        // SAFETY: `st` is a stack local of the libc struct stat layout that Tmds.LibC declares; fstat fills it.
        var rc = Result(fstat(fd, &st));
        size = rc < 0 ? 0 : (long)st.st_size;
        return rc;
    }

    public int EventFdCloexecNonblock() => Result(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));

    public int Read(int fd, void* buffer, nuint count) => Result((int)read(fd, buffer, (size_t)count));

    public int Write(int fd, void* buffer, nuint count) => Result((int)write(fd, buffer, (size_t)count));

    public int Pread(int fd, void* buffer, nuint count, long offset) => Result((int)pread(fd, buffer, (size_t)count, offset));

    public int PollIn(int fd, int timeoutMs)
    {
        var p = new pollfd { fd = fd, events = POLLIN };
        // SAFETY: `p` is one stack-local pollfd and nfds is 1; poll writes only its revents.
        return Result(poll(&p, 1, timeoutMs));
    }

    public string? ReadModuleParameter(string module, string name)
    {
        var path = $"/sys/module/{module}/parameters/{name}";
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    public int MadviseRemove(void* address, nuint length) => Result(madvise(address, (size_t)length, MADV_REMOVE));
}
