using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Support.KvmSys;

namespace Kvm.KernelTests;

/// <summary>Real vCPUs: real-mode code runs from plain memory, from mmap'ed guest_memfd, and on a SW_PROTECTED VM
/// reads shared or private memory as the attributes say; a private access without guest_memfd is a memory-fault
/// exit (§5.5). Every KVM_RUN has a watchdog (<see cref="Vcpu.RunOnce"/>).</summary>
public unsafe class VcpuTests
{
    private const ulong MemSize = 0x10000;

    // The arm64 counterparts (MMIO and PSCI SYSTEM_OFF instead of port I/O and hlt) are in Arm64VcpuTests.
    private static void SkipOnArm64() =>
        Assert.SkipWhen(Kernel.IsArm64, "x86 real-mode guest; on arm64 see Kvm.KernelTests.Arm64.Arm64VcpuTests");

    [Fact]
    public void PlainMemory_OutAndHlt()
    {
        SkipOnArm64();
        using var vm = CreateVm();
        using var mem = Mapping.Anonymous(MemSize);
        GuestCode.OutAB.CopyTo(mem.Span[0x1000..]);
        SetRegion(vm, 0, 0, MemSize, mem.Address).Ok("slot 0");
        using var cpu = new Vcpu(vm);
        Assert.Equal("AB", cpu.RunToHlt(0x1000));
        Assert.Equal(0x1000ul + (ulong)GuestCode.OutAB.Length, cpu.Rip);
    }

    [Fact]
    public void MmapedGuestMemfd_OutAndHlt()
    {
        SkipOnArm64();
        using var vm = GuestMemfdTests.GmemVm();
        const ulong need = KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED;
        int flags = Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS, vm.Value);
        Assert.SkipWhen(((ulong)flags & need) != need, $"kernel {Kernel.Release}: default-VM guest_memfd flags 0x{flags:x}, no shared mmap (6.18+)");
        using var g = CreateGmem(vm, MemSize, need);
        using var mem = Mapping.Of(g, MemSize);
        GuestCode.OutAB.CopyTo(mem.Span[0x1000..]);
        SetRegion2(vm, 0, 0, MemSize, mem.Address, (uint)KvmConstants.KVM_MEM_GUEST_MEMFD, g.Value, 0).Ok("gmem slot 0 with its own mapping as userspace_addr");
        using var cpu = new Vcpu(vm);
        Assert.Equal("AB", cpu.RunToHlt(0x1000));
    }

    private static Fd SwProtectedVm()
    {
        Assert.SkipUnless(HasSwProtectedVm, $"kernel {Kernel.Release} offers no KVM_X86_SW_PROTECTED_VM (VM_TYPES=0x{VmTypes:x})");
        return CreateVm(ArchConstants.KVM_X86_SW_PROTECTED_VM);
    }

    [Fact]
    public void SwProtected_GuestReadsSharedThenPrivateThenSharedMemory()
    {
        using var vm = SwProtectedVm();
        using var mem = Mapping.Anonymous(MemSize);
        GuestCode.Read2000.CopyTo(mem.Span[0x1000..]);
        mem.Pointer[0x2000] = (byte)'S';
        using var g = CreateGmem(vm, MemSize); // flags 0: private-only gmem; code stays in shared memory
        SetRegion2(vm, 0, 0, MemSize, mem.Address, (uint)KvmConstants.KVM_MEM_GUEST_MEMFD, g.Value, 0).Ok("gmem slot 0");
        using var cpu = new Vcpu(vm);
        Assert.Equal("S", cpu.RunToHlt(0x1000));
        SetAttributes(vm, 0x2000, Page, KvmConstants.KVM_MEMORY_ATTRIBUTE_PRIVATE).Ok("[0x2000, +4K) PRIVATE");
        Assert.Equal("\0", cpu.RunToHlt(0x1000)); // the guest_memfd page, fresh and zeroed
        SetAttributes(vm, 0x2000, Page, 0).Ok("[0x2000, +4K) shared");
        Assert.Equal("S", cpu.RunToHlt(0x1000));
    }

    [Fact]
    public void SwProtected_PrivateAccessWithoutGuestMemfd_IsMemoryFaultExit()
    {
        using var vm = SwProtectedVm();
        Assert.Equal(1, Check(KvmCap.KVM_CAP_MEMORY_FAULT_INFO));
        using var mem = Mapping.Anonymous(MemSize);
        GuestCode.Read2000.CopyTo(mem.Span[0x1000..]);
        SetRegion(vm, 0, 0, MemSize, mem.Address).Ok("plain slot 0 (no guest_memfd)");
        SetAttributes(vm, 0x2000, Page, KvmConstants.KVM_MEMORY_ATTRIBUTE_PRIVATE).Ok("[0x2000, +4K) PRIVATE");
        using var cpu = new Vcpu(vm);
        cpu.SetIp(0x1000);
        var r = cpu.RunOnce();
        r.Fails(Errno.EFAULT, "KVM_RUN with a private access to memory that has no guest_memfd");
        Assert.True(cpu.Run->exit_reason == (uint)KvmExit.KVM_EXIT_MEMORY_FAULT, $"exit after EFAULT: {cpu.Describe()}");
        Assert.True((cpu.Run->memory_fault.flags & KvmConstants.KVM_MEMORY_EXIT_FLAG_PRIVATE) != 0, cpu.Describe());
        Assert.Equal(0x2000ul, cpu.Run->memory_fault.gpa);
        Assert.Equal(Page, cpu.Run->memory_fault.size);

        // userspace resolves the fault by converting the page back to shared; the same access then completes
        SetAttributes(vm, 0x2000, Page, 0).Ok("back to shared");
        mem.Pointer[0x2000] = (byte)'s';
        Assert.Equal("s", cpu.RunToHlt(0x1000));
    }

    [Fact]
    public void Watchdog_InterruptsAGuestThatNeverExits()
    {
        SkipOnArm64();
        // The safety net itself: a guest spinning on `jmp $` never exits to userspace; the watchdog must turn that
        // into a failed assertion within its timeout instead of a hung lane.
        using var vm = CreateVm();
        using var mem = Mapping.Anonymous(MemSize);
        mem.Pointer[0x1000] = 0xeb; mem.Pointer[0x1001] = 0xfe; // jmp $
        SetRegion(vm, 0, 0, MemSize, mem.Address).Ok("slot 0");
        using var cpu = new Vcpu(vm);
        cpu.SetIp(0x1000);
        var started = DateTime.UtcNow;
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => cpu.RunOnce(TimeSpan.FromSeconds(2)));
        Assert.Contains("watchdog interrupted it", e.Message);
        Assert.Equal(KvmExit.KVM_EXIT_INTR, (KvmExit)cpu.Run->exit_reason);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "the watchdog took too long");
        Assert.Equal(0x1000ul, cpu.Rip);
    }
}
