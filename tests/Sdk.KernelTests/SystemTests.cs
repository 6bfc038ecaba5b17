using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Support.Checks;
using static Kvm.KernelTests.Support.KvmSys;

namespace Kvm.KernelTests;

/// <summary>/dev/kvm itself: API version, system-scope capability answers, VM types, and which guest_memfd-era
/// ioctls exist at all. These run on every lane; on the legacy 6.1 lane they are the "no guest_memfd" tests.</summary>
public class SystemTests
{
    [Fact]
    public void ApiVersion_Is12()
    {
        Assert.Equal(KvmConstants.KVM_API_VERSION, (int)R(Sys.Ioctl(Dev, KvmIoctls.KVM_GET_API_VERSION)).Ok("KVM_GET_API_VERSION"));
    }

    [Fact]
    public void LaneRunsTheKernelItIsFor()
    {
        Assert.SkipWhen(Kernel.Lane is null, "not started by tests/kvm-guest/lane.sh (KVM_TEST_LANE unset): no lane to check");
        int flags = Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS);
        switch (Kernel.Lane)
        {
            case "newest":
                Assert.True((flags & (int)KvmConstants.GUEST_MEMFD_FLAG_MMAP) != 0, $"newest lane: kernel {Kernel.Release} has no mmap-able guest_memfd");
                Assert.False(HasSwProtectedVm, "newest lane runs the stock kernel, but KVM_X86_SW_PROTECTED_VM is offered");
                break;
            case "private":
                Assert.True(HasSwProtectedVm, $"private lane: KVM_X86_SW_PROTECTED_VM not offered (VM_TYPES={VmTypes}); the rebuilt kvm modules are not in use");
                Assert.True((flags & (int)KvmConstants.GUEST_MEMFD_FLAG_MMAP) != 0, $"private lane: kernel {Kernel.Release} has no mmap-able guest_memfd");
                break;
            case "legacy":
            case "arm64-legacy":
                Assert.Equal(0, Check(KvmCap.KVM_CAP_GUEST_MEMFD));
                break;
            case "host":
                // Any kernel: only that it really is the host, and that the answers agree with each other.
                Assert.False(Kernel.InGuest, $"host lane, but /proc/cmdline says this is a tests/kvm-guest guest (kernel {Kernel.Release})");
                if (Check(KvmCap.KVM_CAP_GUEST_MEMFD) == 0)
                    Assert.Equal(0, flags);
                break;
            case "arm64-newest":
            case "arm64-protected":
                Assert.True((flags & (int)KvmConstants.GUEST_MEMFD_FLAG_MMAP) != 0, $"{Kernel.Lane} lane: kernel {Kernel.Release} has no mmap-able guest_memfd");
                Assert.Equal(Kernel.Lane == "arm64-protected", Arm64.Arm64Env.ProtectedMode);
                break;
            default:
                Assert.Fail($"unknown lane {Kernel.Lane}");
                break;
        }
    }

    [Fact]
    public void SystemCapabilities_MatchTheKernelVersion()
    {
        // Basic memslot facts, the same on every kernel of an architecture we run. x86: KVM_USER_MEM_SLOTS = SHRT_MAX
        // minus 3 private slots, SMM is a 2nd address space (where the kernel has SMM: KernelConfig); arm64: SHRT_MAX slots, one address space (answer 0).
        Assert.Equal(1, Check(KvmCap.KVM_CAP_USER_MEMORY));
        Assert.Equal(1, Check(KvmCap.KVM_CAP_CHECK_EXTENSION_VM));
        Assert.Equal(1, Check(KvmCap.KVM_CAP_READONLY_MEM));
        Assert.Equal(Kernel.IsArm64 ? 32767 : 32764, Check(KvmCap.KVM_CAP_NR_MEMSLOTS));
        Assert.Equal(Kernel.IsArm64 ? 0 : KernelConfig.X86AddressSpaces, Check(KvmCap.KVM_CAP_MULTI_ADDRESS_SPACE));

        KvmCap[] since68 = [KvmCap.KVM_CAP_USER_MEMORY2, KvmCap.KVM_CAP_MEMORY_FAULT_INFO, KvmCap.KVM_CAP_MEMORY_ATTRIBUTES,
                            KvmCap.KVM_CAP_GUEST_MEMFD, KvmCap.KVM_CAP_VM_TYPES, KvmCap.KVM_CAP_PRE_FAULT_MEMORY, KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS];
        if (!Kernel.AtLeast(6, 8))
        {
            foreach (var cap in since68)
                Assert.True(Check(cap) == 0, $"{cap} on {Kernel.Release} (before 6.8) = {Check(cap)}, expected 0");
            return;
        }
        Assert.Equal(1, Check(KvmCap.KVM_CAP_USER_MEMORY2));
        if (Kernel.IsArm64)
        {
            // No private memory on arm64 outside pKVM: no attributes, no memory-fault exits, no VM types; guest_memfd
            // (mmap-able only) from 6.18.
            Assert.Equal(0, Check(KvmCap.KVM_CAP_MEMORY_FAULT_INFO));
            Assert.Equal(0, Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES));
            Assert.Equal(0, Check(KvmCap.KVM_CAP_VM_TYPES));
            Assert.Equal(Kernel.AtLeast(6, 18) ? 1 : 0, Check(KvmCap.KVM_CAP_GUEST_MEMFD));
            if (Kernel.AtLeast(6, 18))
                Assert.Equal((int)(KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED), Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS));
            return;
        }
        Assert.Equal(1, Check(KvmCap.KVM_CAP_MEMORY_FAULT_INFO));
        Assert.Equal(1, Check(KvmCap.KVM_CAP_GUEST_MEMFD));
        // System scope: everything KVM could set for some VM type (PRIVATE), whatever a default VM gets.
        Assert.Equal(KernelConfig.X86SystemMemoryAttributes, Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES));
        int expectedTypes = 1 << ArchConstants.KVM_X86_DEFAULT_VM;
        if (Kernel.Lane == "private") expectedTypes |= 1 << ArchConstants.KVM_X86_SW_PROTECTED_VM;
        if (Kernel.Lane is "newest" or "private")
            Assert.Equal(expectedTypes, Check(KvmCap.KVM_CAP_VM_TYPES)); // SEV/SNP/TDX need hardware TCG lacks
        else // the host (or a hand run): SEV/SNP/TDX types depend on its hardware; the default type is always there
            Assert.True((Check(KvmCap.KVM_CAP_VM_TYPES) & expectedTypes) != 0, $"KVM_CAP_VM_TYPES = 0x{Check(KvmCap.KVM_CAP_VM_TYPES):x} lacks KVM_X86_DEFAULT_VM");
        if (Kernel.AtLeast(6, 18))
            Assert.Equal((int)(KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED), Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS));
    }

    [Fact]
    public void CreateVm_AcceptsExactlyTheAdvertisedTypes()
    {
        Assert.SkipWhen(Kernel.IsArm64, "on arm64 the KVM_CREATE_VM argument is the IPA size, not a VM type: see Arm64VmTests.Vm_type_encodes_the_ipa_size");
        int types = VmTypes;
        for (int type = 0; type < 8; type++)
        {
            var r = TryCreateVm(type);
            if ((types & (1 << type)) != 0) new Fd((int)r.Ok($"KVM_CREATE_VM type {type} (advertised in 0x{types:x})"), "vm").Dispose();
            else r.Fails(Errno.EINVAL, $"KVM_CREATE_VM type {type} (not in VM_TYPES 0x{types:x})");
        }
    }

    // Each guest_memfd-era ioctl is either unknown to the kernel (ENOTTY, legacy 6.1) or known and then rejects
    // an invalid argument with EINVAL; which one must agree with the capability (on x86; arm64 builds them in).

    [Fact]
    public void CreateGuestMemfd_ExistsExactlyWhenCapabilitySaysSo()
    {
        using var vm = CreateVm();
        var r = TryCreateGmem(vm, size: 0);
        // arm64 6.12 is the exception: the ioctl is built in and refuses every VM (EINVAL), the capability says 0.
        bool builtInWithoutSupport = Kernel.IsArm64;
        r.Fails(Check(KvmCap.KVM_CAP_GUEST_MEMFD) != 0 || builtInWithoutSupport ? Errno.EINVAL : Errno.ENOTTY, "KVM_CREATE_GUEST_MEMFD size 0");
    }

    [Fact]
    public void SetUserMemoryRegion2_ExistsExactlyWhenCapabilitySaysSo()
    {
        using var vm = CreateVm();
        // delete (size 0) of a slot that does not exist: EINVAL where the ioctl exists
        var r = SetRegion2(vm, slot: 5, gpa: 0, size: 0, uaddr: 0);
        r.Fails(Check(KvmCap.KVM_CAP_USER_MEMORY2) == 0 ? Errno.ENOTTY : Errno.EINVAL, "KVM_SET_USER_MEMORY_REGION2 delete of a missing slot");
    }

    [Fact]
    public void SetMemoryAttributes_ExistsExactlyWhenCapabilitySaysSo()
    {
        using var vm = CreateVm();
        var r = SetAttributes(vm, gpa: 0, size: 0, attributes: 0);
        bool cap = Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES) != 0;
        // arm64 (6.12 and 7.3) is the exception: the generic attribute code is built in (the ioctl answers EINVAL),
        // yet no VM supports an attribute, so the capability is 0. Setting PRIVATE must then be refused too.
        bool builtInWithoutAttributes = Kernel.IsArm64;
        r.Fails(cap || builtInWithoutAttributes ? Errno.EINVAL : Errno.ENOTTY, "KVM_SET_MEMORY_ATTRIBUTES size 0");
        if (builtInWithoutAttributes)
            SetAttributes(vm, gpa: 0, size: Page, attributes: KvmConstants.KVM_MEMORY_ATTRIBUTE_PRIVATE)
                .Fails(Errno.EINVAL, "KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) on arm64, where KVM_CAP_MEMORY_ATTRIBUTES = 0");
    }
}
