using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Arm64;

/// <summary>System- and VM-level answers of arm64 KVM: capabilities, and the VM type (IPA size, protected bit).</summary>
public sealed class Arm64VmTests
{
    [Fact]
    public void Capabilities_differ_from_x86()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            foreach (var cap in Enum.GetValues<KvmCap>())
                Arm64Env.Record($"cap {cap} ({(int)cap}): system {KvmCall.Answer(kvm, cap)}, vm {KvmCall.Answer(vm, cap)}");
            // x86-only machinery is absent
            Assert.Equal(0, KvmCall.Check(kvm, KvmCap.KVM_CAP_SET_TSS_ADDR));
            Assert.Equal(0, KvmCall.Check(kvm, KvmCap.KVM_CAP_EXT_CPUID));
            Assert.Equal(0, KvmCall.Check(kvm, KvmCap.KVM_CAP_X86_DISABLE_EXITS));
            Assert.Equal(0, KvmCall.Check(kvm, KvmCap.KVM_CAP_SYNC_REGS));
            // no VM types to choose (x86 lists its SW_PROTECTED/SNP/TDX types here) and no private/shared attributes
            Assert.Equal(0, KvmCall.Check(kvm, KvmCap.KVM_CAP_VM_TYPES));
            Assert.Equal(0, KvmCall.Check(vm, KvmCap.KVM_CAP_MEMORY_ATTRIBUTES));
            // arm64 registers go through ONE_REG, vCPUs power off through PSCI; the IPA size is a VM-type parameter
            Assert.Equal(1, KvmCall.Check(kvm, KvmCap.KVM_CAP_ONE_REG));
            Assert.Equal(1, KvmCall.Check(kvm, KvmCap.KVM_CAP_ARM_PSCI_0_2));
            Assert.InRange(KvmCall.Check(kvm, KvmCap.KVM_CAP_ARM_VM_IPA_SIZE), 32, 52);
            Assert.Equal(1, KvmCall.Check(kvm, KvmCap.KVM_CAP_USER_MEMORY2));
            Assert.Equal(1, KvmCall.Check(kvm, KvmCap.KVM_CAP_IMMEDIATE_EXIT));
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public void Guest_memfd_capabilities_follow_the_lane()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int vm = KvmCall.CreateVm(kvm);
        try
        {
            int gmem = KvmCall.Check(vm, KvmCap.KVM_CAP_GUEST_MEMFD), flags = KvmCall.Check(vm, KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS);
            Arm64Env.Record($"kernel {Arm64Env.KernelRelease}: KVM_CAP_GUEST_MEMFD = {gmem}, KVM_CAP_GUEST_MEMFD_FLAGS = {flags}");
            if (Arm64Env.ExpectGuestMemfd(gmem > 0))
            {
                Assert.Equal(1, gmem);
                // a normal arm64 VM only has shared guest_memfd: MMAP | INIT_SHARED
                Assert.Equal((int)(KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED), flags);
            }
            else
            {
                Assert.Equal(0, gmem);
                Assert.Equal(0, flags);
            }
        }
        finally
        {
            KvmCall.Close(vm);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public void Vm_type_encodes_the_ipa_size()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        try
        {
            int max = KvmCall.Check(kvm, KvmCap.KVM_CAP_ARM_VM_IPA_SIZE);
            Arm64Env.Record($"KVM_CAP_ARM_VM_IPA_SIZE = {max}");
            Assert.InRange(max, 32, 52);
            foreach (int bits in new[] { 0, 32, 40, max }.Where(b => b <= max).Distinct())
            {
                int vm = Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, bits);
                KvmCall.Ok(vm, $"KVM_CREATE_VM(ipa bits {bits})");
                KvmCall.Close(vm);
            }
            // a bit outside the arm64 type mask is always refused
            Assert.Equal(Errno.EINVAL, KvmCall.Fails(Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, 0x100 | 40), "KVM_CREATE_VM(0x100 | 40)"));
            int over = Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, max + 1);
            var overErr = over < 0 ? (Errno)Sys.LastErrno : 0;
            int under = Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, 31);
            var underErr = under < 0 ? (Errno)Sys.LastErrno : 0;
            KvmCall.Close(over);
            KvmCall.Close(under);
            Arm64Env.Record($"KVM_CREATE_VM(ipa bits {max + 1}): {(over >= 0 ? "ok" : overErr)}; KVM_CREATE_VM(ipa bits 31): {(under >= 0 ? "ok" : underErr)}");
            if (Arm64Env.ProtectedMode)
            {
                // pKVM ignores the requested IPA size: every VM gets the host's limit (seen on 7.3.4)
                Assert.True(over >= 0, $"protected mode: KVM_CREATE_VM(ipa bits {max + 1}) gave {overErr}; 7.3.4 ignored the IPA size here");
                Assert.True(under >= 0, $"protected mode: KVM_CREATE_VM(ipa bits 31) gave {underErr}; 7.3.4 ignored the IPA size here");
            }
            else
            {
                // beyond the limit, or below the architectural minimum (32)
                Assert.Equal(Errno.EINVAL, overErr);
                Assert.Equal(Errno.EINVAL, underErr);
            }
        }
        finally
        {
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public unsafe void Ipa_size_bounds_the_memslots()
    {
        Arm64Env.RequireArm64Kvm();
        int kvm = KvmCall.OpenKvm();
        int max = KvmCall.Check(kvm, KvmCap.KVM_CAP_ARM_VM_IPA_SIZE);
        if (max <= 32) { KvmCall.Close(kvm); Assert.Skip($"IPA limit is {max} bits: no room above 4 GiB to test"); }
        int small = KvmCall.CreateVm(kvm, 32), big = KvmCall.CreateVm(kvm, (ulong)max);
        using var mem = Mapping.Anonymous(0x10000);
        try
        {
            const ulong above4G = 1UL << 32;
            int rc = KvmCall.SetRegion(small, 0, above4G, 0x10000, mem.Pointer);
            var e = rc < 0 ? (Errno)Sys.LastErrno : 0;
            Arm64Env.Record($"memslot at 4 GiB in a VM created with 32 IPA bits: {(rc == 0 ? "ok" : e)}");
            if (Arm64Env.ProtectedMode)
                Assert.True(rc == 0, $"protected mode ignores the IPA size (7.3.4), yet the memslot at 4 GiB gave {e}");
            else
                Assert.Equal(Errno.EFAULT, e);
            KvmCall.Ok(KvmCall.SetRegion(small, 1, above4G - 0x10000, 0x10000, mem.Pointer), "memslot just below 4 GiB in a 32-bit-IPA VM");
            KvmCall.Ok(KvmCall.SetRegion(big, 0, above4G, 0x10000, mem.Pointer), $"memslot at 4 GiB in a {max}-bit-IPA VM");
        }
        finally
        {
            KvmCall.Close(small);
            KvmCall.Close(big);
            KvmCall.Close(kvm);
        }
    }

    [Fact]
    public void Protected_vm_type_needs_protected_mode()
    {
        Arm64Env.RequireArm64Kvm();
        if (Arm64Env.ProtectedMode)
            Assert.Skip("kvm-arm.mode=protected: the protected VM type is tested by Arm64ProtectedTests");
        int kvm = KvmCall.OpenKvm();
        try
        {
            var e = KvmCall.Fails(Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, unchecked((nint)KvmConstants.KVM_VM_TYPE_ARM_PROTECTED)),
                "KVM_CREATE_VM(KVM_VM_TYPE_ARM_PROTECTED) without kvm-arm.mode=protected");
            Arm64Env.Record($"KVM_CREATE_VM(KVM_VM_TYPE_ARM_PROTECTED) outside protected mode: {e}");
            Assert.Equal(Errno.EINVAL, e);
        }
        finally
        {
            KvmCall.Close(kvm);
        }
    }
}
