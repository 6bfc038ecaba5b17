using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using Tmds.Linux;
using static Kvm.KernelTests.Support.Checks;
using static Kvm.KernelTests.Support.KvmSys;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests;

/// <summary>KVM_SET_USER_MEMORY_REGION (every lane) and KVM_SET_USER_MEMORY_REGION2 with guest_memfd (§5.2).</summary>
public unsafe class MemslotTests
{
    private const ulong Size = 16 * Page;
    private const uint GmemFlag = (uint)KvmConstants.KVM_MEM_GUEST_MEMFD;

    // --- plain memslots: the same rules on 6.1 and 7.3 ---------------------------------------------------------

    [Fact]
    public void V1_OverlappingSlot_IsEEXIST()
    {
        using var vm = CreateVm();
        using var mem = Mapping.Anonymous(2 * Size);
        SetRegion(vm, 0, 0x100000, Size, mem.Address).Ok("slot 0");
        SetRegion(vm, 1, 0x100000 + Size / 2, Size, mem.Address + Size).Fails(Errno.EEXIST, "slot 1 overlapping slot 0");
        SetRegion(vm, 1, 0x100000 + Size, Size, mem.Address + Size).Ok("slot 1 right after slot 0");
    }

    [Fact]
    public void V1_SlotIdBeyondNrMemslots_IsEINVAL()
    {
        using var vm = CreateVm();
        using var mem = Mapping.Anonymous(Size);
        uint n = (uint)Check(KvmCap.KVM_CAP_NR_MEMSLOTS, vm.Value);
        SetRegion(vm, n, 0, Size, mem.Address).Fails(Errno.EINVAL, $"slot id {n} = KVM_CAP_NR_MEMSLOTS");
        SetRegion(vm, n - 1, 0, Size, mem.Address).Ok($"slot id {n - 1}, the last one");
    }

    [Fact]
    public void V1_AddressSpaceBeyondMultiAddressSpace_IsEINVAL()
    {
        using var vm = CreateVm();
        using var mem = Mapping.Anonymous(Size);
        // 0 (arm64) and 1 both mean one address space; x86 reports 2 (SMM)
        uint spaces = (uint)Math.Max(1, Check(KvmCap.KVM_CAP_MULTI_ADDRESS_SPACE, vm.Value));
        SetRegion(vm, spaces << 16, 0, Size, mem.Address).Fails(Errno.EINVAL, $"address space {spaces} of {spaces}");
        SetRegion(vm, (spaces - 1) << 16, 0, Size, mem.Address).Ok($"address space {spaces - 1}, the last one");
    }

    [Fact]
    public void V1_UnalignedOrUnknownFlags_AreEINVAL()
    {
        using var vm = CreateVm();
        using var mem = Mapping.Anonymous(2 * Size);
        SetRegion(vm, 0, 0x100000 + 1, Size, mem.Address).Fails(Errno.EINVAL, "unaligned guest_phys_addr");
        SetRegion(vm, 0, 0x100000, Size + 1, mem.Address).Fails(Errno.EINVAL, "unaligned memory_size");
        SetRegion(vm, 0, 0x100000, Size, mem.Address + 1).Fails(Errno.EINVAL, "unaligned userspace_addr");
        SetRegion(vm, 0, 0x100000, Size, mem.Address, GmemFlag).Fails(Errno.EINVAL, "KVM_MEM_GUEST_MEMFD through the v1 ioctl");
        SetRegion(vm, 0, 0x100000, Size, mem.Address, 1u << 20).Fails(Errno.EINVAL, "unknown flag bit 20");
        SetRegion(vm, 7, 0, 0, 0).Fails(Errno.EINVAL, "deleting a slot that does not exist");
    }

    // --- guest_memfd memslots (6.18+ on a default VM) -----------------------------------------------------------

    private static (Fd vm, Fd gmem, Mapping mem) GmemSetup(ulong gmemSize = Size)
    {
        var vm = GuestMemfdTests.GmemVm();
        Assert.SkipWhen(Check(KvmCap.KVM_CAP_USER_MEMORY2, vm.Value) == 0, $"kernel {Kernel.Release} has no KVM_SET_USER_MEMORY_REGION2");
        return (vm, CreateGmem(vm, gmemSize, SlotGmemFlags), Mapping.Anonymous(4 * Size));
    }

    [Fact]
    public void V2_PlainSlotWithoutGuestMemfd_Works()
    {
        using var vm = CreateVm();
        Assert.SkipWhen(Check(KvmCap.KVM_CAP_USER_MEMORY2) == 0, $"kernel {Kernel.Release} has no KVM_SET_USER_MEMORY_REGION2 (KVM_CAP_USER_MEMORY2=0)");
        using var mem = Mapping.Anonymous(Size);
        SetRegion2(vm, 0, 0, Size, mem.Address).Ok("REGION2 without KVM_MEM_GUEST_MEMFD");
        SetRegion2(vm, 0, 0, 0, 0).Ok("delete it");
    }

    [Fact]
    public void V2_GuestMemfdSlot_OverlapIsEEXIST()
    {
        var (vm, g, mem) = GmemSetup(2 * Size);
        using (vm) using (g) using (mem)
        {
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, g.Value, 0).Ok("gmem slot 0");
            SetRegion2(vm, 1, Size / 2, Size, mem.Address + Size, GmemFlag, g.Value, Size).Fails(Errno.EEXIST, "gmem slot overlapping slot 0's GPAs");
            SetRegion2(vm, 1, Size, Size, mem.Address + Size, GmemFlag, g.Value, Size).Ok("gmem slot 1 after it, next gmem range");
        }
    }

    [Fact]
    public void V2_GuestMemfdUnalignedOffsetOrSize_IsEINVAL()
    {
        var (vm, g, mem) = GmemSetup();
        using (vm) using (g) using (mem)
        {
            foreach (ulong off in new[] { 1ul, Page / 2, Page - 1 })
                SetRegion2(vm, 0, 0, Page, mem.Address, GmemFlag, g.Value, off).Fails(Errno.EINVAL, $"guest_memfd_offset 0x{off:x}");
            SetRegion2(vm, 0, 0, Page + 1, mem.Address, GmemFlag, g.Value, 0).Fails(Errno.EINVAL, "memory_size 0x1001");
        }
    }

    [Fact]
    public void V2_RangeBeyondGuestMemfd_IsEINVAL()
    {
        var (vm, g, mem) = GmemSetup();
        using (vm) using (g) using (mem)
        {
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, g.Value, Page).Fails(Errno.EINVAL, "offset+size one page past the gmem size");
            SetRegion2(vm, 0, 0, 2 * Size, mem.Address, GmemFlag, g.Value, 0).Fails(Errno.EINVAL, "size twice the gmem size");
            SetRegion2(vm, 0, 0, Page, mem.Address, GmemFlag, g.Value, Size).Fails(Errno.EINVAL, "offset at the end");
            SetRegion2(vm, 0, 0, Page, mem.Address, GmemFlag, g.Value, ~0ul & ~(Page - 1)).Fails(Errno.EINVAL, "offset that wraps");
        }
    }

    [Fact]
    public void V2_SameGuestMemfdRangeBoundTwice_IsEINVALBefore72AndEEXISTFrom72()
    {
        var (vm, g, mem) = GmemSetup();
        using (vm) using (g) using (mem)
        {
            using var g2 = CreateGmem(vm, Size, SlotGmemFlags);
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, g.Value, 0).Ok("first binding of [0, 64K)");
            // "KVM guest_memfd changes for 7.2": an overlapping gmem binding is EEXIST, as a GPA overlap always was
            var expected = Kernel.AtLeast(7, 2) ? Errno.EEXIST : Errno.EINVAL;
            // [0x1000, 0x9000) of the gmem again, at other GPAs, and within the gmem size (else it is EINVAL for that)
            SetRegion2(vm, 1, 4 * Size, Size / 2, mem.Address + Size, GmemFlag, g.Value, Page)
                .Fails(expected, $"second slot bound to an overlapping gmem range (kernel {Kernel.Release})");
            SetRegion2(vm, 1, 4 * Size, Size / 2, mem.Address + Size, GmemFlag, g2.Value, Page).Ok("the same slot on a second guest_memfd");
        }
    }

    [Fact]
    public void V2_ModifyingAGuestMemfdSlot_IsEINVAL()
    {
        var (vm, g, mem) = GmemSetup();
        using (vm) using (g) using (mem)
        {
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, g.Value, 0).Ok("gmem slot 0");
            SetRegion2(vm, 0, 2 * Size, Size, mem.Address, GmemFlag, g.Value, 0).Fails(Errno.EINVAL, "moving a gmem slot");
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag | (uint)KvmConstants.KVM_MEM_LOG_DIRTY_PAGES, g.Value, 0)
                .Fails(Errno.EINVAL, "turning on dirty logging of a gmem slot");
            SetRegion2(vm, 0, 0, Size, mem.Address, 0).Fails(Errno.EINVAL, "dropping KVM_MEM_GUEST_MEMFD from a gmem slot");
            SetRegion2(vm, 0, 0, 0, 0, GmemFlag, g.Value, 0).Ok("deleting it is allowed");
        }
    }

    [Fact]
    public void V2_GuestMemfdWithReadonlyOrDirtyLogging_IsEINVAL()
    {
        var (vm, g, mem) = GmemSetup();
        using (vm) using (g) using (mem)
        {
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag | (uint)KvmConstants.KVM_MEM_READONLY, g.Value, 0).Fails(Errno.EINVAL, "GUEST_MEMFD|READONLY");
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag | (uint)KvmConstants.KVM_MEM_LOG_DIRTY_PAGES, g.Value, 0).Fails(Errno.EINVAL, "GUEST_MEMFD|LOG_DIRTY_PAGES");
        }
    }

    [Fact]
    public void V2_NotAGuestMemfd_IsEBADFOrEINVAL()
    {
        var (vm, g, mem) = GmemSetup();
        using (vm) using (g) using (mem)
        {
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, 1_000_000, 0).Fails(Errno.EBADF, "guest_memfd = an fd number that is not open");
            int memfd;
            fixed (byte* name = "plain\0"u8)
                memfd = memfd_create(name, (uint)MFD_CLOEXEC);
            using var plain = new Fd((int)R(memfd).Ok("memfd_create"), "memfd");
            R(ftruncate(plain.Value, (long)Size)).Ok("ftruncate(memfd)");
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, plain.Value, 0).Fails(Errno.EINVAL, "guest_memfd = a plain memfd");
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, vm.Value, 0).Fails(Errno.EINVAL, "guest_memfd = the VM fd");
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, Dev, 0).Fails(Errno.EINVAL, "guest_memfd = /dev/kvm");
            using var other = CreateVm();
            using var otherGmem = CreateGmem(other, Size, SlotGmemFlags);
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, otherGmem.Value, 0).Fails(Errno.EINVAL, "guest_memfd of another VM");
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, g.Value, 0).Ok("its own guest_memfd");
        }
    }

    [Fact]
    public void V2_GuestMemfdSlotOnDefaultVm_FollowsTheKernelVersion()
    {
        // 6.1: no REGION2 at all (ENOTTY); 6.8-6.17: KVM_MEM_GUEST_MEMFD only for VMs with private memory (EINVAL);
        // 6.18+: any VM may back a slot with guest_memfd.
        using var vm = CreateVm();
        using var mem = Mapping.Anonymous(Size);
        if (Check(KvmCap.KVM_CAP_USER_MEMORY2) == 0)
        {
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, 3, 0).Fails(Errno.ENOTTY, $"REGION2 on {Kernel.Release}");
            SetRegion(vm, 0, 0, Size, mem.Address).Ok("the v1 ioctl still works");
        }
        else if (!Kernel.AtLeast(6, 18))
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, 1_000_000, 0).Fails(Errno.EINVAL, $"KVM_MEM_GUEST_MEMFD on a default VM of {Kernel.Release}");
        else
        {
            using var g = CreateGmem(vm, Size, SlotGmemFlags);
            SetRegion2(vm, 0, 0, Size, mem.Address, GmemFlag, g.Value, 0).Ok($"gmem slot on a default VM of {Kernel.Release}");
        }
    }
}
