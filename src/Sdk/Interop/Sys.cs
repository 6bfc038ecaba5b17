using System.Runtime.InteropServices;

namespace Kvm.Interop;

/// <summary>
/// The thin syscall layer: ioctl with typed requests, plus errno. Results are the kernel's own (-1 and errno on
/// failure); nothing here throws or validates. The typed layer (<c>Kvm</c> namespace) is built on it.
/// </summary>
public static unsafe partial class Sys
{
    // Our own import: Tmds.LibC's ioctl takes the request as int, and KVM's _IOR/_IOWR numbers have the top bit set.
    [LibraryImport("libc.so.6", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc.so.6", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, nint arg);

    /// <summary>The errno left by the last failed call on this thread.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>Any ioctl, untyped: the escape hatch for requests the bindings do not know.</summary>
    public static int Ioctl(int fd, nuint request, void* arg) => ioctl(fd, request, arg);

    /// <summary>An <c>_IO</c> ioctl with an integer argument passed by value.</summary>
    public static int Ioctl(int fd, Ioctl request, nint arg = 0) => ioctl(fd, request.Value, arg);

    /// <summary>An <c>_IOW</c> ioctl: the kernel reads <paramref name="arg"/>.</summary>
    public static int Ioctl<T>(int fd, IoctlWrite<T> request, in T arg) where T : unmanaged
    {
        // SAFETY: `arg` is a readonly ref to an unmanaged value pinned for the call; the kernel only reads
        // sizeof(T) bytes, which the request number encodes from the same layout.
        fixed (T* p = &arg)
            return ioctl(fd, request.Value, p);
    }

    /// <summary>An <c>_IOR</c> ioctl: the kernel fills <paramref name="arg"/>.</summary>
    public static int Ioctl<T>(int fd, IoctlRead<T> request, out T arg) where T : unmanaged
    {
        arg = default;
        // SAFETY: `arg` is a zeroed unmanaged local pinned for the call; the kernel writes at most sizeof(T) bytes.
        fixed (T* p = &arg)
            return ioctl(fd, request.Value, p);
    }

    /// <summary>An <c>_IOWR</c> ioctl: the kernel reads <paramref name="arg"/> and writes it back.</summary>
    public static int Ioctl<T>(int fd, IoctlReadWrite<T> request, ref T arg) where T : unmanaged
    {
        // SAFETY: `arg` is a ref to an unmanaged value pinned for the call; sizeof(T) bytes are read and written.
        fixed (T* p = &arg)
            return ioctl(fd, request.Value, p);
    }
}
