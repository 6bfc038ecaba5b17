using System.Runtime.InteropServices;

namespace Kvm.Syscalls;

/// <summary>fstatfs(2), which Tmds.LibC does not bind: only the file system's type (to recognise hugetlbfs) and block
/// size (its huge page size) are read.</summary>
internal static unsafe partial class Statfs
{
    /// <summary>HUGETLBFS_MAGIC from linux/magic.h.</summary>
    public const long HugetlbfsMagic = 0x958458f6;

    [LibraryImport("libc.so.6", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int fstatfs(int fd, void* buf);

    /// <summary>0 with f_type and f_bsize, or -1 (errno in <see cref="Marshal.GetLastPInvokeError"/>).</summary>
    public static int Get(int fd, out long fsType, out long blockSize)
    {
        // glibc's struct statfs on LP64 Linux (x86_64, aarch64) is 120 bytes and starts with f_type then f_bsize, both
        // __fsword_t (long). The buffer is larger than the struct, so the kernel's write stays inside it.
        var buf = stackalloc long[32];
        // SAFETY: `buf` is 256 writable stack bytes, more than sizeof(struct statfs); fstatfs writes only that struct.
        var rc = fstatfs(fd, buf);
        fsType = rc < 0 ? 0 : buf[0];
        blockSize = rc < 0 ? 0 : buf[1];
        return rc;
    }
}
