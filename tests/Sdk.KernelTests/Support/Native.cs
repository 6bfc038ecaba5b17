using System.Runtime.InteropServices;

namespace Kvm.KernelTests.Support;

/// <summary>libc calls Tmds.LibC does not offer (or offers without the layout we need).</summary>
internal static unsafe partial class Native
{
    /// <summary>x86_64 <c>struct stat</c> (144 bytes); only the fields the tests read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct Stat
    {
        [FieldOffset(24)] public uint st_mode;
        [FieldOffset(48)] public long st_size;
        [FieldOffset(56)] public long st_blksize;
        [FieldOffset(64)] public long st_blocks;
    }

    [LibraryImport("libc.so.6", EntryPoint = "fstat", SetLastError = true)]
    public static partial int fstat(int fd, Stat* buf);

    [LibraryImport("libc.so.6", EntryPoint = "gettid")]
    public static partial int gettid();

    [LibraryImport("libc.so.6", EntryPoint = "tgkill", SetLastError = true)]
    public static partial int tgkill(int tgid, int tid, int sig);

    /// <summary><c>signal(sig, SIG_DFL)</c>: hand a signal back to the kernel's default action.</summary>
    [LibraryImport("libc.so.6", EntryPoint = "signal")]
    public static partial nint signal(int sig, nint handler);

    public const int SIGBUS = 7;
    public const int SIGUSR1 = 10;
    public const nint SIG_DFL = 0;
}
