using Kvm.Interop;
using Kvm.Syscalls;
using Microsoft.Win32.SafeHandles;

namespace Kvm;

/// <summary>
/// A shared read/write mapping (<c>mmap(MAP_SHARED)</c>) of <see cref="HostMapping.Length"/> bytes of a regular file
/// or a hugetlbfs file at <see cref="Offset"/>: guest writes reach the file. Create it with
/// <see cref="KvmSystem.MapFile(string, ulong, ulong)"/>. The mapping holds its own reference to the file, so no fd
/// stays open for it.
/// </summary>
/// <remarks>The file must cover <c>offset + length</c> when it is mapped (checked). Whoever truncates the file later —
/// another process, or this one through another fd — turns host access to the cut pages into a SIGBUS and guest access
/// into a failed <c>KVM_RUN</c>: keep the file's size while it is mapped (or use <see cref="MemfdMemory"/>, which is
/// sealed against shrinking).</remarks>
public sealed unsafe class FileMapping : HostMapping
{
    private FileMapping(IKvmSyscalls sys, byte* address, ulong length, ulong offset, ulong pageSize)
        : base(sys, address, length, new PageStateMap(length, PageState.Shared), 0)
    {
        Offset = offset;
        PageSize = pageSize;
    }

    /// <summary>The file offset of byte 0 of the mapping.</summary>
    public ulong Offset { get; }

    /// <summary>The page size of the file: the huge page size on hugetlbfs (its <c>f_bsize</c>), else the base page.</summary>
    public ulong PageSize { get; }

    /// <summary>True when the file lives on hugetlbfs.</summary>
    public bool IsHugetlb => PageSize > (ulong)Kvm.Pages.Size;

    private protected override string What => "file mapping";

    /// <summary>Opens <paramref name="path"/> <c>O_RDWR | O_CLOEXEC</c>, maps it and closes the fd at once.</summary>
    internal static FileMapping Map(IKvmSyscalls sys, string path, ulong offset, ulong length)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckBasePages(offset, length);
        var fd = sys.OpenReadWriteCloexec(path);
        if (fd < 0)
            Fail.Syscall(fd, "open", KvmFdKind.None, $"could not open {path} for reading and writing");
        try
        {
            return MapFd(sys, fd, offset, length, path, nameof(path));
        }
        finally
        {
            sys.Close(fd); // the mapping keeps the file; the fd is not needed past mmap
        }
    }

    /// <summary>Maps the file behind <paramref name="file"/> (which must be open for reading and writing); the caller
    /// keeps ownership of the handle.</summary>
    internal static FileMapping Map(IKvmSyscalls sys, SafeFileHandle file, ulong offset, ulong length)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.IsInvalid)
            Fail.Argument(nameof(file), "the file handle is invalid");
        CheckBasePages(offset, length);
        var added = false;
        try
        {
            file.DangerousAddRef(ref added); // throws ObjectDisposedException when closed; else holds the fd number
            return MapFd(sys, (int)file.DangerousGetHandle(), offset, length, "the file handle", nameof(file));
        }
        finally
        {
            if (added)
                file.DangerousRelease();
        }
    }

    // Every kind's page is a whole number of base pages: checkable before any syscall.
    private static void CheckBasePages(ulong offset, ulong length)
    {
        HugePages.RequireMultiple(offset, (ulong)Kvm.Pages.Size, allowZero: true, nameof(offset), "a file mapping's offset");
        HugePages.RequireMultiple(length, (ulong)Kvm.Pages.Size, allowZero: false, nameof(length), "a file mapping's length");
        if (offset > long.MaxValue || length > long.MaxValue - offset)
            Fail.Range(nameof(length), length, "offset + length must stay below 2^63 (a file offset is an off_t)");
    }

    private static FileMapping MapFd(IKvmSyscalls sys, int fd, ulong offset, ulong length, string what, string fileParam)
    {
        var rc = sys.FstatFile(fd, out var fileSize, out var isRegular);
        if (rc < 0)
            Fail.Syscall(rc, "fstat", KvmFdKind.File, what);
        if (!isRegular)
            Fail.Argument(fileParam, $"{what} is not a regular file: only regular and hugetlbfs files can back host memory");
        rc = sys.Fstatfs(fd, out var fsType, out var blockSize);
        if (rc < 0)
            Fail.Syscall(rc, "fstatfs", KvmFdKind.File, what);
        var pageSize = fsType == Statfs.HugetlbfsMagic && blockSize > 0 ? (ulong)blockSize : (ulong)Kvm.Pages.Size;
        HugePages.RequireMultiple(offset, pageSize, allowZero: true, nameof(offset), "a file mapping's offset");
        HugePages.RequireMultiple(length, pageSize, allowZero: false, nameof(length), "a file mapping's length");
        if ((ulong)fileSize < offset + length)
            Fail.Argument(nameof(length),
                $"{what} is {fileSize} bytes, but offset + length is {offset + length}: the file must cover offset + length "
                + "(a mapping past the end of the file is a SIGBUS on access); grow it first (ftruncate, FileStream.SetLength)");

        var address = sys.MmapShared((nuint)length, fd, (long)offset, out var errno);
        if (address == null)
            Fail.Syscall(-errno, "mmap", KvmFdKind.File, (Errno)errno switch
            {
                Errno.EACCES => $"{what}: a shared read/write mapping needs the file open for reading and writing (O_RDWR)",
                Errno.ENODEV => $"{what}: the file system does not support mmap",
                _ when pageSize > (ulong)Kvm.Pages.Size => HugePages.Explain(errno, pageSize, length, $"MAP_SHARED mapping of hugetlbfs file {what}"),
                _ => $"MAP_SHARED mapping of {what}, {length} bytes at offset {offset}",
            });
        try
        {
            return new FileMapping(sys, (byte*)address, length, offset, pageSize);
        }
        catch
        {
            sys.Munmap(address, (nuint)length);
            throw;
        }
    }
}
