using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Arm64;

/// <summary>
/// pKVM (kvm-arm.mode=protected): what a VM of type KVM_VM_TYPE_ARM_PROTECTED (1UL &lt;&lt; 31) answers. These tests
/// record the answers (lane output and $KVM_RECORD) and assert the ones the arm64 reference observed on 7.3.4, so a
/// kernel that changes them is noticed.
/// </summary>
public sealed class Arm64ProtectedTests
{
    private const ulong MemSize = 0x10000;

    private static int CreateProtectedVm(int kvm, ulong ipaBits = 0) =>
        KvmCall.Ok(Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, unchecked((nint)(KvmConstants.KVM_VM_TYPE_ARM_PROTECTED | ipaBits))),
            $"KVM_CREATE_VM(KVM_VM_TYPE_ARM_PROTECTED | {ipaBits}) in protected mode");

    [Fact]
    public void Protected_vm_capabilities()
    {
        Arm64Env.RequireProtectedMode();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm), pvm = CreateProtectedVm(kvm);
        try
        {
            var differ = new List<string>();
            foreach (var cap in Enum.GetValues<KvmCap>())
            {
                int normal = KvmCall.Check(vm, cap), prot = KvmCall.Check(pvm, cap);
                if (normal != prot) differ.Add($"{cap} {normal}->{prot}");
            }
            Arm64Env.Record($"protected VM: caps that differ from a normal VM: {(differ.Count == 0 ? "none" : string.Join(", ", differ))}");
            // 7.3.4: a pVM reports no PMU, SVE, user IRQ, NISV-to-user, and even ONE_REG and IMMEDIATE_EXIT read 0
            // (although ONE_REG works on its vCPUs: see Protected_vm_vcpu_runs_from_anonymous_memory)
            Assert.Equal(0, KvmCall.Check(pvm, KvmCap.KVM_CAP_ARM_PMU_V3));
            Assert.Equal(0, KvmCall.Check(pvm, KvmCap.KVM_CAP_ARM_SVE));
            Assert.Equal(0, KvmCall.Check(pvm, KvmCap.KVM_CAP_MEMORY_ATTRIBUTES));
            Assert.Equal(1, KvmCall.Check(pvm, KvmCap.KVM_CAP_GUEST_MEMFD));
            Assert.Equal(1, KvmCall.Check(vm, KvmCap.KVM_CAP_ONE_REG));
            int max = KvmCall.Check(kvm, KvmCap.KVM_CAP_ARM_VM_IPA_SIZE);
            int withIpa = Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, unchecked((nint)(KvmConstants.KVM_VM_TYPE_ARM_PROTECTED | 40)));
            Arm64Env.Record($"protected VM with 40 IPA bits: {(withIpa >= 0 ? "ok" : ((Errno)Sys.LastErrno).ToString())} (limit {max})");
            KvmCall.Close(withIpa);
        }
        finally
        {
            KvmCall.Close(pvm);
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public unsafe void Protected_vm_guest_memfd_answers()
    {
        Arm64Env.RequireProtectedMode();
        int kvm = KvmCall.OpenKvm();
        int pvm = CreateProtectedVm(kvm);
        var answers = new List<string>();
        try
        {
            Arm64Env.Record($"protected VM: KVM_CAP_GUEST_MEMFD {KvmCall.Check(pvm, KvmCap.KVM_CAP_GUEST_MEMFD)}, KVM_CAP_GUEST_MEMFD_FLAGS {KvmCall.Check(pvm, KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS)}");
            uint slot = 0;
            foreach (ulong flags in new ulong[] { 0, KvmConstants.GUEST_MEMFD_FLAG_MMAP, KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED })
            {
                int g = KvmCall.TryCreateGmem(pvm, 0x200000, flags);
                if (g < 0) { answers.Add($"flags {flags}: create {(Errno)Sys.LastErrno}"); continue; }
                using var m = Mapping.TryMap(g, 0x200000, out var mapErr);
                using var anon = m is null ? Mapping.Anonymous(0x200000) : null;
                int rc = KvmCall.SetRegion(pvm, slot, 0x400000 + slot * 0x200000UL, 0x200000, (m ?? anon)!.Pointer, KvmConstants.KVM_MEM_GUEST_MEMFD, g);
                answers.Add($"flags {flags}: create ok, mmap {(m is null ? mapErr.ToString() : "ok")}, memslot {(rc == 0 ? "ok" : ((Errno)Sys.LastErrno).ToString())}");
                slot++;
                KvmCall.Close(g);
            }
            Arm64Env.Record($"protected VM guest_memfd: {string.Join("; ", answers)}");
            Assert.Contains(answers, a => a.StartsWith($"flags {KvmConstants.GUEST_MEMFD_FLAG_MMAP}: create ok, mmap ok, memslot ok", StringComparison.Ordinal));
        }
        finally
        {
            KvmCall.Close(pvm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public unsafe void Protected_vm_vcpu_runs_from_anonymous_memory()
    {
        Arm64Env.RequireProtectedMode();
        int kvm = KvmCall.OpenKvm();
        int pvm = CreateProtectedVm(kvm);
        try
        {
            using var mem = Mapping.Anonymous(MemSize);
            GuestCode.Copy(GuestCode.MmioThenSystemOff, mem.Span);
            KvmCall.Ok(KvmCall.SetRegion(pvm, 0, 0, MemSize, mem.Pointer), "KVM_SET_USER_MEMORY_REGION2(slot 0, anonymous) in a pVM");
            using var vcpu = new Vcpu(kvm, pvm);
            Arm64VcpuTests.AssertMmioThenSystemOff(vcpu, "anonymous memory in a protected VM");
        }
        finally
        {
            KvmCall.Close(pvm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public unsafe void Protected_vm_vcpu_from_guest_memfd_answer() => InProtectedVmWithGuestMemfd((kvm, pvm, gmem, gmemMap) =>
    {
        GuestCode.Copy(GuestCode.MmioThenSystemOff, gmemMap.Span);
        KvmCall.Ok(KvmCall.SetRegion(pvm, 0, 0, MemSize, gmemMap.Pointer, KvmConstants.KVM_MEM_GUEST_MEMFD, gmem), "memslot from guest_memfd in a pVM");
        using var vcpu = new Vcpu(kvm, pvm);
        vcpu.SetReg(Vcpu.PcId, GuestCode.CodeGpa);
        int rc;
        Errno errno;
        using (var watchdog = new KvmRunWatchdog(vcpu, Arm64VcpuTests.Limit))
        {
            rc = Sys.Ioctl(vcpu.Fd, KvmIoctls.KVM_RUN);
            errno = rc < 0 ? (Errno)Sys.LastErrno : 0;
            Assert.False(watchdog.Fired, "the pVM vCPU hung until the watchdog fired");
        }
        Arm64Env.Record($"protected VM vCPU with code in guest_memfd: first KVM_RUN rc={rc} errno={errno} exit_reason={(KvmExit)vcpu.Run->exit_reason}");
        // 7.3.4: a pVM's stage-2 fault (pkvm_mem_abort) ignores guest_memfd and pins the page at the slot's
        // userspace_addr; a guest_memfd mapping is not swap-backed memory, so the pin is refused with EIO.
        Assert.Equal(-1, rc);
        Assert.Equal(Errno.EIO, errno);
    });

    /// <summary>The other half of the EIO above: with anonymous memory at userspace_addr, the same guest_memfd slot
    /// runs, and from the anonymous pages. The guest_memfd stays zeroed (UDF on arm64), so a vCPU fetching from it
    /// would never reach the MMIO writes.</summary>
    [Fact]
    public unsafe void Protected_vm_runs_from_userspace_addr_even_in_a_guest_memfd_slot() => InProtectedVmWithGuestMemfd((kvm, pvm, gmem, gmemMap) =>
    {
        using var anon = Mapping.Anonymous(MemSize);
        GuestCode.Copy(GuestCode.MmioThenSystemOff, anon.Span);
        KvmCall.Ok(KvmCall.SetRegion(pvm, 0, 0, MemSize, anon.Pointer, KvmConstants.KVM_MEM_GUEST_MEMFD, gmem),
            "memslot from guest_memfd with anonymous userspace_addr in a pVM");
        using var vcpu = new Vcpu(kvm, pvm);
        Arm64VcpuTests.AssertMmioThenSystemOff(vcpu, "a guest_memfd slot's anonymous userspace_addr in a protected VM");
        Assert.True(gmemMap.Span.IndexOfAnyExcept((byte)0) < 0, "the guest_memfd was written, so the guest ran from it");
    });

    /// <summary>Runs <paramref name="body"/> with /dev/kvm, a protected VM, and a mapped MMAP | INIT_SHARED
    /// guest_memfd of <see cref="MemSize"/> bytes in it; closes them after.</summary>
    private static void InProtectedVmWithGuestMemfd(Action<int, int, int, Mapping> body)
    {
        Arm64Env.RequireProtectedMode();
        int kvm = KvmCall.OpenKvm();
        int pvm = CreateProtectedVm(kvm), gmem = -1;
        try
        {
            gmem = KvmCall.Ok(KvmCall.TryCreateGmem(pvm, MemSize, KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED),
                "KVM_CREATE_GUEST_MEMFD(MMAP | INIT_SHARED) in a pVM");
            using var map = Mapping.TryMap(gmem, MemSize, out var err);
            Assert.True(map is not null, $"mmap guest_memfd in a pVM: {err}");
            body(kvm, pvm, gmem, map);
        }
        finally
        {
            KvmCall.Close(gmem);
            KvmCall.Close(pvm);
            KvmCall.Close(kvm);
        }
    }
}
