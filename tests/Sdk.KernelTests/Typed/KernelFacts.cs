using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Typed;

/// <summary>What the running kernel offers, asked once, so each test computes its expectation from the kernel it runs
/// on (lanes: 7.3 newest, 7.3 + SW_PROTECTED modules, 6.1 legacy; and any dev host with /dev/kvm).</summary>
internal static class KernelFacts
{
    public static readonly ulong Page = (ulong)Environment.SystemPageSize;

    public const GuestMemfdFlags MmapShared = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;

    public static bool IsX86 => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64;

    /// <summary>A default VM's guest_memfd accepts MMAP | INIT_SHARED (6.18+).</summary>
    public static bool HasMappableGmem(VmFd vm) => vm.GuestMemfd is { } g && (g.SupportedFlags & MmapShared) == MmapShared;

    /// <summary>The host runs KVM through the PVM backend (<c>kvm_pvm</c>, the build machines), which emulates a real-mode
    /// guest instead of running it in hardware.</summary>
    public static bool IsPvmBackend => Directory.Exists("/sys/module/kvm_pvm");

    /// <summary>Skips where the PVM backend's real-mode emulation does not produce <paramref name="what"/> (seen on the
    /// build machines: the guest never exits, or exits otherwise); the QEMU lanes run the test on SVM.</summary>
    public static void SkipOnPvm(string what) =>
        Assert.SkipWhen(IsPvmBackend, $"the kvm_pvm backend emulates real-mode guests and does not produce {what}");

    public static void SkipUnlessX86() => Assert.SkipUnless(IsX86, "the guest code in this test is x86 real mode");
}
