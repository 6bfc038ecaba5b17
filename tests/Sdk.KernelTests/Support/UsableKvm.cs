// The check issues KVM_GET_API_VERSION raw: it asks whether the device answers at all, before any SDK handle exists.
#pragma warning disable KVM2001
using Kvm.Interop;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests.Support;

/// <summary>
/// Helper mode <see cref="Verb"/> DEVICE: does this machine have a KVM the host lane can test? The device opens
/// O_RDWR and KVM_GET_API_VERSION answers 12. tests/kvm-guest/lane.sh host asks this before running the tests, so a
/// machine without (or with an unusable) /dev/kvm skips the lane in one line instead of failing every test.
/// Exit 0 = usable; 1 = not usable, with the reason on stdout.
/// </summary>
public static unsafe class UsableKvm
{
    public const string Verb = "--usable-kvm";

    public static int Run(string[] args)
    {
        string device = args.Length > 1 ? args[1] : "/dev/kvm";
        int fd;
        // SAFETY: the path is a NUL-terminated UTF-8 copy pinned by `fixed` for the call.
        fixed (byte* p = System.Text.Encoding.UTF8.GetBytes(device + "\0"))
            fd = open(p, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
            return No($"open({device}, O_RDWR) failed: {ErrnoText.Name(Sys.LastErrno)}");
        int version = Sys.Ioctl(fd, KvmIoctls.KVM_GET_API_VERSION);
        int errno = Sys.LastErrno;
        close(fd);
        if (version != KvmConstants.KVM_API_VERSION)
            return No(version < 0 ? $"KVM_GET_API_VERSION on {device} failed: {ErrnoText.Name(errno)}"
                                  : $"KVM_GET_API_VERSION on {device} answered {version}, not {KvmConstants.KVM_API_VERSION}");
        Console.WriteLine($"{device}: KVM API version {version}");
        return 0;

        static int No(string why)
        {
            Console.WriteLine(why);
            return 1;
        }
    }
}
