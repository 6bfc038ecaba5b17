using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Arm64;

/// <summary>
/// The SDK's own arm64 paths on an arm64 kernel: <see cref="VmType.Arm64(int)"/> IPA sizes checked against
/// KVM_CAP_ARM_VM_IPA_SIZE, the memslot table's arm64 rules, <see cref="VcpuFd.InitArm64"/>, ONE_REG through
/// <see cref="Arm64Registers"/>, typed MMIO and SYSTEM_EVENT exits, and <see cref="VcpuFd.RequestImmediateExit"/>.
/// The raw tests beside this file pin the kernel's answers; these pin what the typed layer makes of them.
/// </summary>
public sealed class Arm64TypedSdkTests
{
    private const ulong MemSize = 0x10000;
    private const GuestMemfdFlags MmapShared = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED;

    [Fact]
    public void Ipa_sizes_follow_the_capability_and_bound_memslots()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        int max = kvm.Capabilities.Check(KvmCap.KVM_CAP_ARM_VM_IPA_SIZE);
        Assert.True(max >= 40, $"KVM_CAP_ARM_VM_IPA_SIZE = {max}");
        Assert.True(kvm.SupportsVmType(VmType.Arm64(max)));
        if (max < 255)
        {
            // Refused by the SDK before the syscall, naming the capability (the kernel would say a bare EINVAL).
            var ex = Assert.Throws<ArgumentException>(() => kvm.CreateVm(VmType.Arm64(max + 1)));
            Assert.Contains("KVM_CAP_ARM_VM_IPA_SIZE", ex.Message);
        }
        using var small = kvm.CreateVm(VmType.Arm64(32));
        Assert.Equal(32, small.Type.IpaBits);
        using var memory = kvm.AllocateHostMemory(MemSize);
        // The kernel answers a slot beyond the IPA space with EFAULT; the SDK says why before asking.
        var beyond = Assert.Throws<ArgumentOutOfRangeException>(() => small.Memslots.Add(gpa: 1UL << 32, memory));
        Assert.Contains("32-bit guest-physical space", beyond.Message);
        using var below = small.Memslots.Add(gpa: (1UL << 32) - MemSize, memory); // the last 64 KiB fit
        Assert.Equal(1, small.Memslots.Count);
    }

    [Fact]
    public void Guest_memfd_rules_on_arm64()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.Null(vm.MemoryAttributes);   // arm64 has no KVM_CAP_MEMORY_ATTRIBUTES
        Assert.Null(vm.Conversion);
#pragma warning disable KVM1011 // the system-scope answer is what this test compares the VM's feature with
        if (!Arm64Env.ExpectGuestMemfd(kvm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD)))
#pragma warning restore KVM1011
        {
            Assert.Null(vm.GuestMemfd);
            Assert.Skip($"kernel {Arm64Env.KernelRelease} has no guest_memfd on arm64 (lane '{Arm64Env.Lane}'); checked that the SDK says so");
        }
        var gmem = Assert.IsType<GuestMemfdFeature>(vm.GuestMemfd);
        Assert.True(gmem.SupportedFlags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP));
        using var plain = gmem.Create(MemSize);
        Assert.False(plain.IsMappable);
        // arm64 binds only mmap-able guest_memfd: refused before the syscall, with the errno the kernel would give.
        var ex = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0, plain, gmemOffset: 0, size: MemSize));
        Assert.Contains("GUEST_MEMFD_FLAG_MMAP", ex.Message);
        Assert.Equal(0, vm.Memslots.Count);
        using var mappable = gmem.Create(MemSize, MmapShared);
        using var map = mappable.Map();
        using var slot = vm.Memslots.Add(0, map);
        Assert.Equal(1, vm.Memslots.Count);
    }

    [Fact]
    public void Typed_vcpu_runs_mmio_then_system_off_from_guest_memfd_or_host_memory()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        // guest_memfd where the kernel has the mmap-able kind (7.3), host memory otherwise (6.12).
        GmemFd? gmem = vm.GuestMemfd is { } g && g.SupportedFlags.HasFlag(MmapShared) ? g.Create(MemSize, MmapShared) : null;
        using HostMapping memory = gmem is not null ? gmem.Map() : kvm.AllocateHostMemory(MemSize);
        memory.Write(GuestCode.CodeGpa, GuestCode.Bytes(GuestCode.MmioThenSystemOff));
        using var slot = memory is GmemMapping gm ? vm.Memslots.Add(0, gm) : vm.Memslots.Add(0, memory);
        gmem?.Dispose(); // the mapping and the slot keep the guest_memfd itself open
        using var vcpu = vm.CreateVcpu(0);
        var uninitialised = Assert.Throws<KvmException>(() => vcpu.Run()); // before KVM_ARM_VCPU_INIT
        Assert.Equal(Errno.ENOEXEC, uninitialised.Errno);
        Assert.Contains("KVM_ARM_VCPU_INIT", uninitialised.Message);
        vcpu.InitArm64(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PSCI_0_2);
        vcpu.SetOneReg(Arm64Registers.Pc, GuestCode.CodeGpa);
        Assert.Equal(GuestCode.CodeGpa, vcpu.GetOneReg(Arm64Registers.Pc));
        vcpu.SetOneReg(Arm64Registers.X(7), 0x1122334455667788);
        Assert.Equal(0x1122334455667788UL, vcpu.GetOneReg(Arm64Registers.X(7)));

        var (exits, written) = RunMmioGuest(vcpu);
        Arm64Env.Record($"typed vCPU from {(memory is GmemMapping ? "guest_memfd" : "host memory")}: {string.Join(", ", exits)}, then SYSTEM_OFF");
        Assert.Equal(["write 0x10000000/4", "write 0x10000000/1", "read 0x10000008/4", "write 0x10000000/1"], exits);
        Assert.Equal("ABZ", written);
    }

    [Fact]
    public void Protected_vm_type_is_offered_exactly_in_protected_mode()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        bool protectedMode = Arm64Env.ProtectedMode;
        Assert.Equal(protectedMode, kvm.SupportsVmType(VmType.Arm64Protected()));
        if (!protectedMode)
        {
            var ex = Assert.Throws<KvmException>(() => kvm.CreateVm(VmType.Arm64Protected()));
            Assert.Equal(Errno.EINVAL, ex.Errno);
            Assert.Contains("kvm-arm.mode=protected", ex.Message);
            return;
        }
        using var vm = kvm.CreateVm(VmType.Arm64Protected());
        Assert.True(vm.Type.IsArm64Protected);
        Assert.Equal(0, vm.Capabilities.Check(KvmCap.KVM_CAP_ONE_REG)); // a pVM says 0 (7.3.4), yet ONE_REG works
        Assert.NotNull(vm.GuestMemfd);
        Assert.Null(vm.MemoryAttributes);
        // A pVM vCPU runs from host memory; a guest_memfd slot gets EIO
        // (Protected_vm_on_a_guest_memfd_slot_fails_with_the_reason).
        using var memory = kvm.AllocateHostMemory(MemSize);
        memory.Write(GuestCode.CodeGpa, GuestCode.Bytes(GuestCode.MmioThenSystemOff));
        var slot = vm.Memslots.Add(0, memory);
        using (var spare = kvm.AllocateHostMemory(MemSize))
            vm.Memslots.Add(0x100000, spare).Dispose(); // before the first run a pVM's slot can still be deleted
        Assert.Equal(1, vm.Memslots.Count);
        using var vcpu = VcpuAtGuestCode(vm);
        var (exits, written) = RunMmioGuest(vcpu);
        Arm64Env.Record($"typed vCPU in a protected VM, host memory: {string.Join(", ", exits)}, then SYSTEM_OFF");
        Assert.Equal("ABZ", written);
        // After it has run, pKVM refuses deletions (EPERM): the slot stays until the VM goes, and says so.
        slot.Dispose();
        Assert.False(slot.IsDeleted);
        Assert.Equal(1, vm.Memslots.Count);
        vcpu.Dispose();
        vm.Dispose();
        Assert.True(slot.IsDeleted);
    }

    [Fact]
    public void Protected_vm_on_a_guest_memfd_slot_fails_with_the_reason()
    {
        Arm64Env.RequireProtectedMode();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm(VmType.Arm64Protected());
        using var gmem = vm.GuestMemfd!.Create(MemSize, MmapShared);
        using var map = gmem.Map();
        map.Write(GuestCode.CodeGpa, GuestCode.Bytes(GuestCode.MmioThenSystemOff));
        var slot = vm.Memslots.Add(0, map); // accepted by the kernel: the refusal comes at the first fault
        using var vcpu = VcpuAtGuestCode(vm);
        var ex = Assert.Throws<KvmException>(() => vcpu.Run());
        Arm64Env.Record($"typed vCPU in a protected VM, guest_memfd slot: {ex.Message}");
        Assert.Equal(Errno.EIO, ex.Errno);
        Assert.Equal("KVM_RUN", ex.Operation);
        Assert.Contains("userspace_addr", ex.Message);
        Assert.Contains(slot.ToString(), ex.Message);
    }

    /// <summary>vCPU 0, initialised with PSCI 0.2, its PC at <see cref="GuestCode.CodeGpa"/>.</summary>
    private static VcpuFd VcpuAtGuestCode(VmFd vm)
    {
        var vcpu = vm.CreateVcpu(0);
        vcpu.InitArm64(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PSCI_0_2);
        vcpu.SetOneReg(Arm64Registers.Pc, GuestCode.CodeGpa);
        return vcpu;
    }

    /// <summary>Runs <see cref="GuestCode.MmioThenSystemOff"/> through the typed exits to PSCI SYSTEM_OFF: the MMIO
    /// accesses it made, and the bytes it wrote.</summary>
    private static (List<string> Exits, string Written) RunMmioGuest(VcpuFd vcpu)
    {
        var written = new List<byte>();
        var exits = new List<string>();
        for (int i = 0; i < 16; i++)
        {
            var exit = vcpu.Run();
            if (exit.Reason == VcpuExitReason.Mmio)
            {
                var m = exit.Mmio;
                exits.Add($"{(m.IsWrite ? "write" : "read")} 0x{m.PhysicalAddress:x}/{m.Length}");
                if (m.IsWrite) written.Add(m.Data[0]);
                else { m.Data.Clear(); m.Data[0] = GuestCode.MmioReadValue; }
                continue;
            }
            Assert.Equal(VcpuExitReason.SystemEvent, exit.Reason);
            Assert.Equal(KvmSystemEvent.KVM_SYSTEM_EVENT_SHUTDOWN, exit.SystemEvent.Type);
            return (exits, System.Text.Encoding.ASCII.GetString(written.ToArray()));
        }
        Assert.Fail($"no SYSTEM_OFF after 16 exits: {string.Join(", ", exits)}");
        return default;
    }

    [Fact]
    public void Request_immediate_exit_stops_a_looping_arm64_guest()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var memory = kvm.AllocateHostMemory(MemSize);
        memory.Write(GuestCode.CodeGpa, GuestCode.Bytes(GuestCode.Loop));
        using var slot = vm.Memslots.Add(0, memory);
        using var vcpu = VcpuAtGuestCode(vm);
        using var timer = new Timer(_ => vcpu.RequestImmediateExit(), null, 500, Timeout.Infinite);
        Assert.Equal(VcpuExitReason.Interrupted, vcpu.Run().Reason);
        Assert.Equal(GuestCode.CodeGpa, vcpu.GetOneReg(Arm64Registers.Pc)); // still on its `b .`
        vcpu.RequestImmediateExit();                                        // before Run: returns at once
        Assert.Equal(VcpuExitReason.Interrupted, vcpu.Run().Reason);
    }
}
