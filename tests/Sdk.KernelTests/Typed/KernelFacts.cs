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

    public static void SkipUnlessX86() => Assert.SkipUnless(IsX86, "the guest code in this test is x86 real mode");
}
