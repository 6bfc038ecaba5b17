// The fake kernel here offers VM-level PRIVATE and in-place conversion at once (v8 makes them exclusive) so that
// one test can measure both paths' allocations; a real kernel would answer EINVAL, as KVM1001 says. The same fake
// kernel accepts INIT_SHARED on an SW_PROTECTED VM (the v8 ABI table), which the project does not declare (KVM1012).
#pragma warning disable KVM1001, KVM1012
#pragma warning disable KVMEXP001
using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>The hot paths — KVM_RUN with exit decoding, attribute changes, in-place conversions — allocate nothing.</summary>
public unsafe class AllocationTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    [Fact]
    public void RunAttributesAndConversionsAreAllocationFree()
    {
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES] = 8;
        sys.Caps[250] = 8;
        using var kvm = KvmSystem.OpenWith(sys, abi: ProposedAbiTables.V8);
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var gmem = vm.GuestMemfd!.Create(4 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var slot = vm.Memslots.Add(0, gmem, 0, 4 * Page);
        using var vcpu = vm.CreateVcpu(0);
        var run = (Interop.X86_64.kvm_run*)sys.Mappings[(int)sys.Mappings.Keys.Max()];
        run->exit_reason = (uint)KvmExit.KVM_EXIT_IO;
        run->io.size = 1;
        run->io.count = 1;
        run->io.data_offset = 4096;
        var conv = vm.InPlaceConversionV8!;
        var attrs = vm.MemoryAttributes!;

        void Work()
        {
            for (var i = 0; i < 100; i++)
            {
                var exit = vcpu.Run();
                if (exit.Reason != VcpuExitReason.Io || exit.Io.Data.Length != 1)
                    throw new InvalidOperationException();
                attrs.Set(0, Page, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
                conv.ToPrivate(Page, Page);
                conv.ToShared(Page, Page);
            }
        }

        Work(); // warm up (JIT, first-call setup such as KVM_SET_SIGNAL_MASK)
        sys.Record = false;
        var before = GC.GetAllocatedBytesForCurrentThread();
        Work();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
