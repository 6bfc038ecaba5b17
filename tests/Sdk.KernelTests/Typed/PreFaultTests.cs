using Kvm.Interop;
using Xunit;
using static Kvm.KernelTests.Typed.KernelFacts;
using static Kvm.KernelTests.Typed.MemoryGuest;

namespace Kvm.KernelTests.Typed;

/// <summary>KVM_PRE_FAULT_MEMORY on host-memory and guest_memfd slots, and where no slot is.</summary>
public class PreFaultTests
{
    [Fact]
    public void PreFaultMapsSlotsAndStopsWhereNoSlotIs()
    {
        using var kvm = KvmSystem.Open();
        var (vm, memory, code) = TypedGuest.With(kvm, IsX86 ? TypedGuest.Spin : []);
        using (vm) using (memory) using (code)
        using (var data = kvm.AllocateHostMemory(16 * Page))
        using (var slot = vm.Memslots.Add(DataGpa, data))
        using (var vcpu = IsX86 ? TypedGuest.Vcpu(vm) : vm.CreateVcpu(0))
        {
            if (!IsX86)
                vcpu.InitArm64();
            var preFault = vm.PreFault;
            Assert.SkipWhen(preFault is null,
                $"this VM reports no KVM_CAP_PRE_FAULT_MEMORY (6.10+; x86 reports it only with TDP paging; kernel {Environment.OSVersion.Version})");

            preFault!.PreFaultMemory(vcpu, DataGpa, 16 * Page); // host memory
            preFault.PreFaultMemory(vcpu, 0, 16 * Page);        // the code slot: guest_memfd where the kernel has it
            Assert.Equal(HasMappableGmem(vm), code.GuestMemfd is not null);

            var r = preFault.TryPreFaultMemory(vcpu, 0x1000000, Page, out var mapped);
            Assert.Equal(Errno.ENOENT, r.Errno);
            Assert.Equal(0UL, mapped);

            // Starts in the slot, runs past its end: the kernel maps the last page, then finds no slot.
            r = preFault.TryPreFaultMemory(vcpu, DataGpa + 15 * Page, 2 * Page, out mapped);
            Assert.Equal(Errno.ENOENT, r.Errno);
            Assert.Equal(Page, mapped);
            var e = Assert.Throws<KvmException>(() => preFault.PreFaultMemory(vcpu, DataGpa + 15 * Page, 2 * Page));
            Assert.Equal(Errno.ENOENT, e.Errno);
            Assert.Contains("KVM_PRE_FAULT_MEMORY", e.Message);

            Assert.Throws<ArgumentOutOfRangeException>(() => preFault.PreFaultMemory(vcpu, DataGpa + 1, Page));
            Assert.Throws<ArgumentOutOfRangeException>(() => preFault.PreFaultMemory(vcpu, DataGpa, 0));
        }
    }
}
