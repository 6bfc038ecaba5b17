// These tests pass unaligned values and zero sizes and map an unmappable guest_memfd on purpose: they test the
// SDK's own argument checks, which the analyzers (rightly) report at compile time.
#pragma warning disable KVM1003, KVM1005, KVM1009
using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Arguments the kernel would reject are refused before any syscall, with a message naming the rule.</summary>
public class ValidationTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    private static (FakeSyscalls Sys, KvmSystem Kvm, VmFd Vm) NewVm()
    {
        var sys = new FakeSyscalls();
        var kvm = KvmSystem.OpenWith(sys);
        return (sys, kvm, kvm.CreateVm(VmType.X86Default));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(4097UL)]
    public void GuestMemfdSizeMustBeNonZeroPageMultiple(ulong size)
    {
        var (sys, _, vm) = NewVm();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => vm.GuestMemfd!.Create(size));
        Assert.Contains($"guest_memfd size must be a non-zero multiple of the {Page}-byte page", ex.Message);
        Assert.Equal(0, sys.Count($"ioctl 0x{(ulong)KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value:X}"));
    }

    [Fact]
    public void GuestMemfdFlagsOutsideTheVmsCapabilityAreRefused()
    {
        var (sys, _, vm) = NewVm();
        sys.Caps[(int)KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS] = 1;
        using var vm2 = vm.System.CreateVm(VmType.X86Default);
        Assert.Equal(GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP, vm2.GuestMemfd!.SupportedFlags);
        var ex = Assert.Throws<ArgumentException>(() => vm2.GuestMemfd.Create(Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED));
        Assert.Contains("KVM_CAP_GUEST_MEMFD_FLAGS", ex.Message);
        Assert.Equal(0, sys.Count($"ioctl 0x{(ulong)KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value:X}"));
    }

    [Fact]
    public void GuestMemfdFeatureIsNullWithoutTheCapability()
    {
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_GUEST_MEMFD] = 0;
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        Assert.Null(vm.GuestMemfd);
        Assert.Null(vm.MemoryAttributes);
        Assert.Null(vm.Conversion);
    }

    [Fact]
    public void GuestMemfdFdGetsCloseOnExec()
    {
        var (sys, _, vm) = NewVm();
        using var gmem = vm.GuestMemfd!.Create(Page);
        Assert.Equal(1, sys.CloexecSet);
    }

    [Fact]
    public void FallocateRangesAreChecked()
    {
        var (sys, _, vm) = NewVm();
        using var gmem = vm.GuestMemfd!.Create(4 * Page);
        Assert.Throws<ArgumentOutOfRangeException>(() => gmem.Allocate(1, Page));
        Assert.Throws<ArgumentOutOfRangeException>(() => gmem.Allocate(0, 0));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => gmem.Allocate(2 * Page, 4 * Page));
        Assert.Contains("immutable", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => gmem.PunchHole(0, Page + 1));
        Assert.Equal(0, sys.Count("fallocate"));
        gmem.PunchHole(8 * Page, Page); // past the end: accepted, as by the kernel
        Assert.Equal(1, sys.Count("fallocate"));
    }

    [Fact]
    public void MapWithoutMmapFlagIsRefusedBeforeMmap()
    {
        var (sys, _, vm) = NewVm();
        using var gmem = vm.GuestMemfd!.Create(Page);
        var ex = Assert.Throws<InvalidOperationException>(() => gmem.Map());
        Assert.Contains("GUEST_MEMFD_FLAG_MMAP", ex.Message);
        Assert.Equal(0, sys.Count("mmap"));
    }

    [Fact]
    public void PrivatePagesCannotBeLeased()
    {
        var (_, _, vm) = NewVm();
        using var gmem = vm.GuestMemfd!.Create(2 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var map = gmem.Map();
        Assert.Equal(PageState.Private, map.GetState(0));
        var ex = Assert.Throws<InvalidOperationException>(() => map.Write(0, [1]));
        Assert.Contains("SIGBUS", ex.Message);

        using var shared = vm.GuestMemfd!.Create(2 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var map2 = shared.Map();
        map2.Write(Page, [1, 2, 3]);
        Span<byte> back = stackalloc byte[3];
        map2.Read(Page, back);
        Assert.Equal(new byte[] { 1, 2, 3 }, back.ToArray());
    }

    [Fact]
    public void MemslotRulesAreCheckedBeforeTheIoctl()
    {
        var (sys, kvm, vm) = NewVm();
        using var host = kvm.AllocateHostMemory(16 * Page);
        var set2 = $"ioctl 0x{(ulong)KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value:X}";

        Assert.Contains("guest_phys_addr", Assert.Throws<ArgumentOutOfRangeException>(() => vm.Memslots.Add(1, host)).Message);
        Assert.Contains("KVM_CAP_NR_MEMSLOTS", Assert.Throws<ArgumentOutOfRangeException>(() => vm.Memslots.Add(0, host, slot: 32764)).Message);
        Assert.Contains("KVM_CAP_MULTI_ADDRESS_SPACE", Assert.Throws<ArgumentOutOfRangeException>(() => vm.Memslots.Add(0, host, addressSpace: 2)).Message);
        Assert.Equal(0, sys.Count(set2));

        using var a = vm.Memslots.Add(0x100000, host, 0, 4 * Page);
        Assert.Equal(1, sys.Count(set2));
        var overlap = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x100000 + Page, host, 4 * Page, 4 * Page));
        Assert.Contains("EEXIST", overlap.Message);
        using var otherSpace = vm.Memslots.Add(0x100000, host, 4 * Page, 4 * Page, addressSpace: 1); // another AS: fine

        using var gmem = vm.GuestMemfd!.Create(8 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var g1 = vm.Memslots.Add(0x200000, gmem, 0, 4 * Page);
        var bound = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0x300000, gmem, 2 * Page, 4 * Page));
        Assert.Contains("already bound", bound.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.Memslots.Add(0x300000, gmem, 6 * Page, 4 * Page));
        Assert.Equal(3, sys.Count(set2));
    }

    [Fact]
    public void MemoryAttributesAreCheckedAgainstTheVmMask()
    {
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES] = 8;
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        Assert.NotNull(vm.Conversion);
        Assert.True(vm.MemoryAttributes!.SupportsPrivate);
        Assert.Throws<ArgumentException>(() => vm.MemoryAttributes.Set(0, Page, (KvmMemoryAttributes)16));
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.MemoryAttributes.Set(1, Page, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.MemoryAttributes.Set(0, 0, 0));
        Assert.Equal(0, sys.Count($"ioctl 0x{(ulong)KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Value:X}"));
        vm.Conversion!.ToPrivate(0, Page);
        Assert.Equal(PageState.Private, vm.Conversion.GetState(0));
    }

    [Fact]
    public void VmTypesAreCheckedAgainstTheCapability()
    {
        var (sys, kvm, _) = NewVm();
        var ex = Assert.Throws<ArgumentException>(() => kvm.CreateVm(VmType.X86Tdx));
        Assert.Contains("KVM_CAP_VM_TYPES", ex.Message);
        Assert.Throws<ArgumentException>(() => kvm.CreateVm(VmType.Arm64Default));
        Assert.Throws<ArgumentOutOfRangeException>(() => VmType.Arm64(300));
        Assert.Throws<ArgumentOutOfRangeException>(() => VmType.Arm64(12));
        Assert.Equal(40UL, VmType.Arm64(40).Value);
        Assert.Equal(40, VmType.Arm64Default.IpaBits);     // type 0 is the 40-bit default
        Assert.Equal(32, VmType.Arm64(32).IpaBits);
        Assert.Null(VmType.X86Default.IpaBits);
        Assert.Equal(0x8000_0000UL, VmType.Arm64Protected().Value);          // KVM_VM_TYPE_ARM_PROTECTED
        Assert.Equal(0x8000_0028UL, VmType.Arm64Protected(40).Value);
        Assert.True(VmType.Arm64Protected(36).IsArm64Protected);
        Assert.Equal(36, VmType.Arm64Protected(36).IpaBits);
        Assert.False(VmType.Arm64(36).IsArm64Protected);
        Assert.Throws<ArgumentOutOfRangeException>(() => VmType.Arm64Protected(12));
    }
}
