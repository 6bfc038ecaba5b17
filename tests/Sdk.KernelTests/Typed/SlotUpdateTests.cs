using Kvm.Interop;
using Xunit;
using static Kvm.KernelTests.Typed.KernelFacts;
using static Kvm.KernelTests.Typed.MemoryGuest;

namespace Kvm.KernelTests.Typed;

/// <summary>The slot changes the kernel allows (flags-only, move) and the ones it refuses (READONLY, guest_memfd).</summary>
public class SlotUpdateTests
{
    [Fact]
    public void MovedSlotShowsTheSameMemoryAtTheNewAddressOnly()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (code)
        using (var data = kvm.AllocateHostMemory(Page))
        using (var slot = vm.Memslots.Add(0x20000, data))
        using (var vcpu = vm.CreateVcpu(0))
        {
            data.Write(0, [0x5A]);
            code.HostMemory!.Write(0, ReadToPort(0x20000));
            vcpu.EnterRealMode();
            var exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(0x5A, exit.Io.Data[0]);

            slot.MoveTo(0x30000);
            Assert.Equal(0x30000UL, slot.GuestPhysicalAddress);
            Assert.Same(slot, vm.Memslots.Find(0x30000));
            Assert.Null(vm.Memslots.Find(0x20000));

            code.HostMemory!.Write(0, ReadToPort(0x30000));
            vcpu.EnterRealMode();
            exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            Assert.Equal(0x5A, exit.Io.Data[0]);

            code.HostMemory!.Write(0, ReadToPort(0x20000)); // nothing there now: an MMIO read
            vcpu.EnterRealMode();
            exit = vcpu.Run();
            Assert.Equal(VcpuExitReason.Mmio, exit.Reason);
            Assert.Equal(0x20000UL, exit.Mmio.PhysicalAddress);

            Assert.Throws<ArgumentException>(() => slot.MoveTo(0)); // onto the code slot: EEXIST, refused first
            Assert.Equal(0x30000UL, slot.GuestPhysicalAddress);
        }
    }

    [Fact]
    public void DirtyLogCarriesOverAMove()
    {
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (code)
        using (var data = kvm.AllocateHostMemory(16 * Page))
        using (var slot = vm.Memslots.Add(DataGpa, data, flags: KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES))
        using (var vcpu = NewVcpu(vm))
        {
            Assert.Equal(Done, RunFromStart(vcpu, code, WritePages(DataGpa, 2, 5)));
            slot.MoveTo(0x40000);
            Assert.True(slot.IsDirtyLogging);
            var bitmap = DirtyBitmap.For(slot);
            slot.GetDirtyLog(bitmap); // the kernel keeps the slot's bitmap across KVM_MR_MOVE
            Assert.Equal([2UL, 5], Dirty(bitmap));
            Assert.Equal(0x40000 + 5 * Page, bitmap.GpaOf(5));
        }
    }

    [Fact]
    public unsafe void KernelRefusesReadonlyChangesAndSoDoesTheSdk()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipUnless(vm.Memslots.SupportsReadonly, "this VM reports no KVM_CAP_READONLY_MEM");
        using var data = kvm.AllocateHostMemory(Page);
        using var slot = vm.Memslots.Add(0x20000, data);
        var e = Assert.Throws<ArgumentException>(() => slot.SetFlags(KvmMemFlags.KVM_MEM_READONLY));
        Assert.Contains("EINVAL", e.Message);

        // What the kernel itself answers to the same request.
        var region = new kvm_userspace_memory_region
        {
            slot = (uint)slot.Id,
            flags = (uint)KvmMemFlags.KVM_MEM_READONLY,
            guest_phys_addr = 0x20000,
            memory_size = Page,
            userspace_addr = (ulong)data.AddressForSlot,
        };
        using (var fd = vm.BorrowFd())
        {
            Assert.Equal(-1, Sys.Ioctl(fd.Value, KvmIoctls.KVM_SET_USER_MEMORY_REGION, region));
            Assert.Equal((int)Errno.EINVAL, Sys.LastErrno);
        }
        Assert.Equal((KvmMemFlags)0, slot.Flags);
    }

    [Fact]
    public unsafe void KernelRefusesToMoveGuestMemfdSlots()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipUnless(HasMappableGmem(vm) && vm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2),
            "this VM has no mappable guest_memfd (KVM_CAP_GUEST_MEMFD with GUEST_MEMFD_FLAG_MMAP | INIT_SHARED in KVM_CAP_GUEST_MEMFD_FLAGS, and KVM_CAP_USER_MEMORY2)");
        using var gmem = vm.GuestMemfd!.Create(4 * Page, MmapShared);
        using var map = gmem.Map();
        using var slot = vm.Memslots.Add(0x40000, map);
        var e = Assert.Throws<ArgumentException>(() => slot.MoveTo(0x80000));
        Assert.Contains("immutable", e.Message);
        Assert.Throws<ArgumentException>(() => slot.SetDirtyLogging(true));

        var region = new kvm_userspace_memory_region2
        {
            slot = (uint)slot.Id,
            flags = (uint)slot.Flags,
            guest_phys_addr = 0x80000,
            memory_size = slot.Size,
            userspace_addr = (ulong)map.AddressForSlot,
            guest_memfd_offset = 0,
        };
        using (var g = gmem.BorrowFd())
        using (var fd = vm.BorrowFd())
        {
            region.guest_memfd = (uint)g.Value;
            Assert.Equal(-1, Sys.Ioctl(fd.Value, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, region));
            Assert.Equal((int)Errno.EINVAL, Sys.LastErrno);
            region.guest_phys_addr = 0x40000; // a flags-only change (dirty logging) is just as immutable
            region.flags |= (uint)KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES;
            Assert.Equal(-1, Sys.Ioctl(fd.Value, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, region));
            Assert.Equal((int)Errno.EINVAL, Sys.LastErrno);
        }
        Assert.Same(slot, vm.Memslots.Find(0x40000));
    }
}
