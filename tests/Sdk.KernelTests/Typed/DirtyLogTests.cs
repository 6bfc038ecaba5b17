using Kvm.Interop;
using Xunit;
using static Kvm.KernelTests.Typed.KernelFacts;
using static Kvm.KernelTests.Typed.MemoryGuest;

namespace Kvm.KernelTests.Typed;

/// <summary>KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG against a guest that writes known pages of a logging slot.</summary>
public class DirtyLogTests
{
    [Fact]
    public void DirtyLogReportsExactlyThePagesTheGuestWrote()
    {
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (code)
        using (var data = kvm.AllocateHostMemory(16 * Page))
        using (var slot = vm.Memslots.Add(DataGpa, data))
        using (var vcpu = NewVcpu(vm))
        {
            Assert.False(slot.IsDirtyLogging);
            var bitmap = DirtyBitmap.For(slot);
            Assert.Throws<ArgumentException>(() => slot.GetDirtyLog(bitmap)); // not logging: the kernel would say ENOENT

            slot.SetDirtyLogging(true); // a flags-only update of the live slot
            Assert.True(slot.IsDirtyLogging);
            Assert.Same(slot, vm.Memslots.Find(DataGpa));
            Assert.Equal(Done, RunFromStart(vcpu, code, WritePages(DataGpa, 1, 3, 7)));
            slot.GetDirtyLog(bitmap);
            Assert.Equal([1UL, 3, 7], Dirty(bitmap));
            Assert.Equal(DataGpa + 3 * Page, bitmap.GpaOf(3));
            Assert.Equal(3, bitmap.CountDirty());
            var b = new byte[1];
            data.Read(7 * Page, b);
            Assert.Equal(8, b[0]); // the guest really wrote page 7 (its number + 1)

            slot.GetDirtyLog(bitmap); // without manual protection, GET resets the log and re-protects
            Assert.Empty(Dirty(bitmap));

            Assert.Equal(Done, RunFromStart(vcpu, code, WritePages(DataGpa, 2, 7, 15)));
            slot.GetDirtyLog(bitmap);
            Assert.Equal([2UL, 7, 15], Dirty(bitmap));

            slot.SetDirtyLogging(false);
            Assert.False(slot.IsDirtyLogging);
            Assert.Throws<ArgumentException>(() => slot.GetDirtyLog(bitmap));
        }
    }

    [Fact]
    public void ManualProtectKeepsPagesDirtyUntilClearReprotectsThem()
    {
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, []);
        using (vm) using (memory) using (code)
        using (var data = kvm.AllocateHostMemory(128 * Page))
        {
            Assert.SkipUnless(vm.SupportedManualDirtyLogProtect.HasFlag(ManualDirtyLogProtect.Enable),
                $"kernel {Environment.OSVersion.Version} reports no KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on the VM");
            vm.EnableManualDirtyLogProtect(ManualDirtyLogProtect.Enable);
            using var slot = vm.Memslots.Add(DataGpa, data, flags: KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES);
            using var vcpu = NewVcpu(vm);
            var bitmap = DirtyBitmap.For(slot);

            Assert.Equal(Done, RunFromStart(vcpu, code, WritePages(DataGpa, 1, 3)));
            slot.GetDirtyLog(bitmap);
            Assert.Equal([1UL, 3], Dirty(bitmap));
            slot.GetDirtyLog(bitmap); // manual protection: GET leaves the log as it is
            Assert.Equal([1UL, 3], Dirty(bitmap));

            // Rules the kernel answers EINVAL to are refused first.
            Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 0, pageCount: 10));
            Assert.Throws<ArgumentOutOfRangeException>(() => slot.ClearDirtyLog(bitmap, firstPage: 128));
            slot.ClearDirtyLog(bitmap, firstPage: 64, pageCount: 64); // nothing dirty up there: nothing changes
            slot.GetDirtyLog(bitmap);
            Assert.Equal([1UL, 3], Dirty(bitmap));

            slot.ClearDirtyLog(bitmap); // clears and re-protects exactly pages 1 and 3
            slot.GetDirtyLog(bitmap);
            Assert.Empty(Dirty(bitmap));

            Assert.Equal(Done, RunFromStart(vcpu, code, WritePages(DataGpa, 3)));
            slot.GetDirtyLog(bitmap);
            Assert.Equal([3UL], Dirty(bitmap)); // the re-protected page is logged again
        }
    }

    [Fact]
    public void InitiallySetStartsWithEveryPageDirty()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var wanted = ManualDirtyLogProtect.Enable | ManualDirtyLogProtect.InitiallySet;
        Assert.SkipUnless((vm.SupportedManualDirtyLogProtect & wanted) == wanted,
            $"KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on this VM is {vm.SupportedManualDirtyLogProtect}, without KVM_DIRTY_LOG_INITIALLY_SET");
        vm.EnableManualDirtyLogProtect(wanted);
        using var data = kvm.AllocateHostMemory(70 * Page);
        using var slot = vm.Memslots.Add(DataGpa, data);
        slot.SetDirtyLogging(true);
        var bitmap = DirtyBitmap.For(slot);
        slot.GetDirtyLog(bitmap);
        Assert.Equal(70, bitmap.CountDirty());
        slot.ClearDirtyLog(bitmap, firstPage: 64); // the tail of 6 pages reaches the slot's end: any length is fine
        slot.GetDirtyLog(bitmap);
        Assert.Equal(64, bitmap.CountDirty());
        slot.ClearDirtyLog(bitmap, firstPage: 0, pageCount: 64);
        slot.GetDirtyLog(bitmap);
        Assert.Equal(0, bitmap.CountDirty());
    }
}
