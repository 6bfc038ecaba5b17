using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Arm64;

/// <summary>
/// A real arm64 vCPU: KVM_ARM_PREFERRED_TARGET, KVM_ARM_VCPU_INIT with PSCI 0.2, registers through ONE_REG with ids
/// computed from the kvm_regs layout, and hand-assembled guest code (MMU off) that exits by MMIO and PSCI SYSTEM_OFF.
/// </summary>
public sealed class Arm64VcpuTests
{
    private const ulong MemSize = 0x10000;
    internal static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public void Core_register_ids_follow_the_kvm_regs_layout()
    {
        // What the C macro gives: KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pc)
        // (aarch64-linux-gnu-gcc, 7.3.4 headers). This part runs everywhere: it is pure layout.
        Assert.Equal(0x6030000000100040UL, Vcpu.PcId);
        Assert.Equal(0x6030000000100000UL, Vcpu.XId(0));
        Assert.Equal(0x6030000000100002UL, Vcpu.XId(1));
        Assert.Equal(0x603000000010003CUL, Vcpu.XId(30));
    }

    [Fact]
    public void Vcpu_init_with_psci_and_one_reg_round_trip()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            using var vcpu = new Vcpu(kvm, vm);
            Arm64Env.Record($"KVM_ARM_PREFERRED_TARGET: target {vcpu.Target}");
            vcpu.SetReg(Vcpu.PcId, 0x2000);
            Assert.Equal(0x2000UL, vcpu.GetReg(Vcpu.PcId));
            vcpu.SetReg(Vcpu.XId(5), 0x1122334455667788);
            Assert.Equal(0x1122334455667788UL, vcpu.GetReg(Vcpu.XId(5)));
            Assert.Equal(0UL, vcpu.GetReg(Vcpu.XId(6)));
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public unsafe void Guest_in_anonymous_memory_does_mmio_then_psci_system_off()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            using var mem = Mapping.Anonymous(MemSize);
            GuestCode.Copy(GuestCode.MmioThenSystemOff, mem.Span);
            KvmCall.Ok(KvmCall.SetRegion(vm, 0, 0, MemSize, mem.Pointer), "KVM_SET_USER_MEMORY_REGION2(slot 0, anonymous)");
            using var vcpu = new Vcpu(kvm, vm);
            AssertMmioThenSystemOff(vcpu, "anonymous memory");
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public unsafe void Guest_in_mmap_guest_memfd_does_mmio_then_psci_system_off()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm), gmem = -1;
        try
        {
            Arm64Env.RequireMmapGuestMemfd(kvm);
            gmem = KvmCall.Ok(KvmCall.TryCreateGmem(vm, MemSize, KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED),
                "KVM_CREATE_GUEST_MEMFD(MMAP | INIT_SHARED)");
            using var mem = Mapping.TryMap(gmem, MemSize, out var err);
            Assert.True(mem is not null, $"mmap guest_memfd: {err}");
            GuestCode.Copy(GuestCode.MmioThenSystemOff, mem.Span);
            KvmCall.Ok(KvmCall.SetRegion(vm, 0, 0, MemSize, mem.Pointer, KvmConstants.KVM_MEM_GUEST_MEMFD, gmem),
                "KVM_SET_USER_MEMORY_REGION2(slot 0, guest_memfd)");
            using var vcpu = new Vcpu(kvm, vm);
            AssertMmioThenSystemOff(vcpu, "guest_memfd");
        }
        finally
        {
            KvmCall.Close(gmem);
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public unsafe void Looping_guest_is_stopped_by_the_watchdog()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            using var mem = Mapping.Anonymous(MemSize);
            GuestCode.Copy(GuestCode.Loop, mem.Span);
            KvmCall.Ok(KvmCall.SetRegion(vm, 0, 0, MemSize, mem.Pointer), "KVM_SET_USER_MEMORY_REGION2(slot 0)");
            using var vcpu = new Vcpu(kvm, vm);
            vcpu.SetReg(Vcpu.PcId, GuestCode.CodeGpa);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int rc;
            Errno errno;
            bool fired;
            using (var watchdog = new KvmRunWatchdog(vcpu, TimeSpan.FromSeconds(2)))
            {
                rc = Sys.Ioctl(vcpu.Fd, KvmIoctls.KVM_RUN);
                errno = (Errno)Sys.LastErrno;
                fired = watchdog.Fired;
            }
            Arm64Env.Record($"looping guest: KVM_RUN rc={rc} errno={errno} exit_reason={(KvmExit)vcpu.Run->exit_reason} after {sw.Elapsed.TotalSeconds:F1} s");
            Assert.True(fired, "KVM_RUN returned before the watchdog fired: the loop guest exited on its own?");
            Assert.Equal(-1, rc);
            Assert.Equal(Errno.EINTR, errno);
            Assert.Equal(KvmExit.KVM_EXIT_INTR, (KvmExit)vcpu.Run->exit_reason);
            Assert.Equal(GuestCode.CodeGpa, vcpu.GetReg(Vcpu.PcId)); // still on its `b .`
            // the signal did not stay pending: the next KVM_RUN runs the guest again until the next watchdog
            vcpu.SetReg(Vcpu.PcId, GuestCode.CodeGpa);
            using (var again = new KvmRunWatchdog(vcpu, TimeSpan.FromMilliseconds(500)))
            {
                Assert.Equal(-1, Sys.Ioctl(vcpu.Fd, KvmIoctls.KVM_RUN));
                Assert.True(again.Fired, "KVM_RUN returned before the second watchdog fired: a stale SIGURG was left pending");
            }
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    internal static void AssertMmioThenSystemOff(Vcpu vcpu, string what)
    {
        vcpu.SetReg(Vcpu.PcId, GuestCode.CodeGpa);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (written, exits, firstPc) = vcpu.RunMmioGuest(Limit);
        Arm64Env.Record($"vCPU from {what}: exits {string.Join(", ", exits)}; bytes written \"{written}\"; {sw.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(
            [
                $"MMIO write 0x{GuestCode.MmioBase:x}/4", $"MMIO write 0x{GuestCode.MmioBase:x}/1",
                $"MMIO read 0x{GuestCode.MmioBase + 8:x}/4", $"MMIO write 0x{GuestCode.MmioBase:x}/1",
                $"SYSTEM_EVENT type={KvmConstants.KVM_SYSTEM_EVENT_SHUTDOWN}",
            ], exits);
        Assert.Equal("ABZ", written); // 'Z' = the MMIO read's 0x5a, written back by the guest
        Assert.Equal(GuestCode.CodeGpa + 8, firstPc); // at the exit, PC is still on the faulting str
    }
}
