using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Support.Checks;
using static Kvm.KernelTests.Support.KvmSys;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests;

/// <summary>Host mappings of guest_memfd (6.18+: GUEST_MEMFD_FLAG_MMAP / INIT_SHARED). The SIGBUS cases run in a
/// child process (<see cref="ChildTouch"/>).</summary>
public unsafe class GuestMemfdMmapTests
{
    private const ulong Size = 4 * Page;
    private const ulong Mmap = KvmConstants.GUEST_MEMFD_FLAG_MMAP, Shared = KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED;

    private static Fd MmapVm(int type = ArchConstants.KVM_X86_DEFAULT_VM, ulong need = Mmap)
    {
        var vm = GuestMemfdTests.GmemVm(type);
        int flags = Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS, vm.Value);
        if (((ulong)flags & need) != need)
        {
            vm.Dispose();
            Assert.Skip($"kernel {Kernel.Release}: VM type {type} guest_memfd flags are 0x{flags:x}, need 0x{need:x} (mmap-able guest_memfd is 6.18+)");
        }
        return vm;
    }

    [Fact]
    public void Mmap_WithoutMmapFlag_IsENODEV()
    {
        using var vm = GuestMemfdTests.GmemVm();
        using var g = CreateGmem(vm, Size);
        Mapping.TryMap(g.Value, Size, MAP_SHARED, out var m).Fails(Errno.ENODEV, "mmap of a guest_memfd created without GUEST_MEMFD_FLAG_MMAP");
        m?.Dispose();
    }

    [Fact]
    public void Mmap_Private_IsEINVAL()
    {
        using var vm = MmapVm();
        using var g = CreateGmem(vm, Size, Mmap | Shared);
        Mapping.TryMap(g.Value, Size, MAP_PRIVATE, out var m).Fails(Errno.EINVAL, "MAP_PRIVATE (copy-on-write) mapping of guest_memfd");
        m?.Dispose();
    }

    [Fact]
    public void Mmap_InitShared_WritesReadBackAndPunchHoleZeroes()
    {
        using var vm = MmapVm(need: Mmap | Shared);
        using var g = CreateGmem(vm, Size, Mmap | Shared);
        using var m = Mapping.Of(g, Size);
        m.Span.Fill(0xab);
        Assert.Equal(0xab, m.Pointer[Page + 7]);
        R(fallocate(g.Value, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (long)Page, (long)Page)).Ok("punch page 1");
        Assert.Equal(0, m.Pointer[Page + 7]);
        Assert.Equal(0xab, m.Pointer[0]);
        Assert.Equal(0xab, m.Pointer[2 * Page]);
    }

    [Fact]
    public void Touch_SharedPage_Survives()
    {
        using var vm = MmapVm(need: Mmap | Shared); // the control for the two SIGBUS tests: same helper, allowed touch
        var o = ChildTouch.Run(ArchConstants.KVM_X86_DEFAULT_VM, Mmap | Shared, Size, Size, Page);
        Assert.True(o.ExitCode == 0, $"touching a shared page: {o}");
    }

    [Fact]
    public void Touch_PastEndOfFile_IsSIGBUS()
    {
        using var vm = MmapVm(need: Mmap | Shared);
        var o = ChildTouch.Run(ArchConstants.KVM_X86_DEFAULT_VM, Mmap | Shared, Size, 2 * Size, Size + Page);
        Assert.True(o.KilledBySigbus && o.Output.Contains("child: mapped"), $"touching past the end of the file: {o}");
    }

    [Fact]
    public void Touch_PrivatePage_IsSIGBUS()
    {
        using var vm = MmapVm(); // MMAP without INIT_SHARED: the memory starts private
        var o = ChildTouch.Run(ArchConstants.KVM_X86_DEFAULT_VM, Mmap, Size, Size, 0);
        Assert.True(o.KilledBySigbus && o.Output.Contains("child: mapped"), $"touching a private page: {o}");
    }

    [Fact]
    public void Touch_SwProtectedGuestMemfd_IsSIGBUS()
    {
        using var vm = MmapVm(ArchConstants.KVM_X86_SW_PROTECTED_VM); // mappable, but never shared: no INIT_SHARED there
        var o = ChildTouch.Run(ArchConstants.KVM_X86_SW_PROTECTED_VM, Mmap, Size, Size, 0);
        Assert.True(o.KilledBySigbus && o.Output.Contains("child: mapped"), $"touching SW_PROTECTED guest_memfd: {o}");
    }
}
