namespace Kvm.Syscalls;

/// <summary>
/// The seam between the typed SDK and the kernel: every syscall the SDK makes goes through one instance of this.
/// The default is <see cref="LibcSyscalls"/>; unit tests inject a fake that records calls and returns scripted
/// results (error paths, and the proposed conversion ABIs that no released kernel has).
/// Convention: calls returning <c>int</c> return the kernel's non-negative result on success and <c>-errno</c> on
/// failure (the raw syscall convention), so no thread-local errno has to be carried between calls.
/// </summary>
internal unsafe interface IKvmSyscalls
{
    /// <summary>open(2) with <c>O_RDWR | O_CLOEXEC</c>; the new fd or -errno.</summary>
    int OpenReadWriteCloexec(string path);

    /// <summary>ioctl(2) with a pointer argument; result or -errno.</summary>
    int Ioctl(int fd, nuint request, void* arg);

    /// <summary>ioctl(2) with an integer argument; result or -errno.</summary>
    int Ioctl(int fd, nuint request, nint arg);

    /// <summary>close(2); 0 or -errno.</summary>
    int Close(int fd);

    /// <summary>mmap(2) of a shared (fd &gt;= 0) or anonymous shared (fd = -1) read/write mapping; the address, or null
    /// with <paramref name="errno"/> set.</summary>
    void* MmapShared(nuint length, int fd, long offset, out int errno);

    /// <summary>munmap(2); 0 or -errno.</summary>
    int Munmap(void* address, nuint length);

    /// <summary>Reserves address space: <c>mmap(PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)</c>; the
    /// address, or null with <paramref name="errno"/> set.</summary>
    void* Reserve(nuint length, out int errno);

    /// <summary><c>mmap(MAP_SHARED | MAP_FIXED)</c> of <paramref name="fd"/> read/write at <paramref name="address"/>,
    /// which must lie in a range this process reserved; 0 or -errno.</summary>
    int MmapSharedFixed(void* address, nuint length, int fd, long offset);

    /// <summary>Replaces whatever is mapped at <paramref name="address"/> with private zero pages in one step
    /// (<c>mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE)</c>): the range stays this process's and is
    /// never handed to another mapping; 0 or -errno.</summary>
    int ReplaceWithZeroPages(void* address, nuint length);

    /// <summary>fallocate(2); 0 or -errno.</summary>
    int Fallocate(int fd, int mode, long offset, long length);

    /// <summary>fcntl(F_SETFD, FD_CLOEXEC); 0 or -errno.</summary>
    int SetCloexec(int fd);

    /// <summary>fcntl(F_GETFD) &amp; FD_CLOEXEC: 1, 0, or -errno.</summary>
    int GetCloexec(int fd);

    /// <summary>fstat(2) st_size; 0 or -errno.</summary>
    int FstatSize(int fd, out long size);

    /// <summary><c>memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)</c>, plus <c>MFD_HUGETLB</c> and the size bits
    /// (<c>log2 &lt;&lt; MFD_HUGE_SHIFT</c>) when <paramref name="hugePageLog2"/> is non-zero; the new fd or -errno.</summary>
    int MemfdCreate(string name, int hugePageLog2);

    /// <summary>ftruncate(2); 0 or -errno.</summary>
    int Ftruncate(int fd, long length);

    /// <summary><c>fcntl(F_ADD_SEALS, F_SEAL_SHRINK)</c>; 0 or -errno.</summary>
    int SealShrink(int fd);

    /// <summary>Anonymous shared huge pages: <c>mmap(MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | log2 &lt;&lt;
    /// MAP_HUGE_SHIFT)</c> read/write; the address, or null with <paramref name="errno"/> set.</summary>
    void* MmapAnonymousHuge(nuint length, int hugePageLog2, out int errno);

    /// <summary>fstat(2): st_size and whether st_mode is a regular file (S_IFREG); 0 or -errno.</summary>
    int FstatFile(int fd, out long size, out bool isRegular);

    /// <summary>fstatfs(2): f_type and f_bsize (the huge page size on hugetlbfs); 0 or -errno.</summary>
    int Fstatfs(int fd, out long fsType, out long blockSize);
    /// <summary><c>eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)</c>: a new eventfd with counter 0; the fd or -errno.</summary>
    int EventFdCloexecNonblock();

    /// <summary>read(2); bytes read or -errno.</summary>
    int Read(int fd, void* buffer, nuint count);

    /// <summary>write(2); bytes written or -errno.</summary>
    int Write(int fd, void* buffer, nuint count);

    /// <summary>pread(2); bytes read or -errno.</summary>
    int Pread(int fd, void* buffer, nuint count, long offset);

    /// <summary>poll(2) of one fd for POLLIN; 1 when readable, 0 on timeout, or -errno (EINTR included).</summary>
    int PollIn(int fd, int timeoutMs);

    /// <summary>The text of <c>/sys/module/&lt;module&gt;/parameters/&lt;name&gt;</c>, trimmed; null when the
    /// parameter does not exist (the module lacks it, or is not loaded); <c>"?"</c> when it exists but cannot be read.</summary>
    string? ReadModuleParameter(string module, string name);

    /// <summary><c>madvise(MADV_REMOVE)</c>: frees the backing pages of a shared mapping range (they read back as
    /// zero); 0 or -errno.</summary>
    int MadviseRemove(void* address, nuint length);
}
