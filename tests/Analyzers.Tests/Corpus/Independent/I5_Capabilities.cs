// Independent corpus (issue #15), written blind from docs/diagnostics/*.md: KVM1011 (per-VM capability on
// /dev/kvm), KVM2001 (gated raw ioctl without a check), KVM1010 (unobserved Try*/raw ioctl results).
using System;
using System.Collections.Generic;
using System.Linq;
using Kvm;
using Kvm.Interop;
//// case: i-1011-direct-has
class Probe
{
    static bool HasGmem(KvmSystem kvm) => kvm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD); // expect: KVM1011
}
//// case: i-1011-caps-local
class Probe
{
    static ulong Attributes(KvmSystem kvm)
    {
        var caps = kvm.Capabilities;
        return caps.CheckMask(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES); // expect: KVM1011
    }
}
//// case: i-1011-cap-in-local
class Probe
{
    static int Flags(KvmSystem kvm)
    {
        var cap = KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS;
        return kvm.Capabilities.Check(cap); // expect: KVM1011
    }
}
//// case: i-1011-static-readonly-cap
class Probe
{
    static readonly KvmCap Wanted = KvmCap.KVM_CAP_GUEST_MEMFD;

    static bool Ok(KvmSystem kvm) => kvm.Capabilities.Has(Wanted); // expect: KVM1011
}
//// case: i-1011-check-raw
class Probe
{
    static int Raw(KvmSystem kvm) => kvm.Capabilities.CheckRaw((int)KvmCap.KVM_CAP_GUEST_MEMFD); // expect: KVM1011
}
//// case: i-1011-cap-local-in-branch
class Probe
{
    static void Dump(KvmSystem kvm)
    {
        var cap = KvmCap.KVM_CAP_MEMORY_ATTRIBUTES;
        if (kvm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2))
            Console.WriteLine(kvm.Capabilities.CheckMask(cap)); // expect: KVM1011
    }
}
//// case: i-1011-open-inline
class Probe
{
    static void Main()
    {
        using var kvm = KvmSystem.Open();
        if (kvm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD)) // expect: KVM1011
            Console.WriteLine("guest_memfd");
    }
}
//// case: i-1011-ok-vm-scope
class Probe
{
    static bool HasGmem(VmFd vm) => vm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD);
}
//// case: i-1011-ok-system-wide-caps
class Probe
{
    static void Dump(KvmSystem kvm)
    {
        var caps = kvm.Capabilities;
        Console.WriteLine(caps.Has(KvmCap.KVM_CAP_USER_MEMORY2));
        Console.WriteLine(caps.Check(KvmCap.KVM_CAP_NR_VCPUS));
        Console.WriteLine(caps.Has(KvmCap.KVM_CAP_IRQFD));
    }
}
//// case: i-1011-ok-vm-caps-local
class Probe
{
    static ulong Attributes(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        var caps = vm.Capabilities;
        return caps.CheckMask(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES);
    }
}
//// case: i-2001-no-check
class Raw
{
    static int Create(int vmFd)
    {
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: i-2001-check-answer-ignored
class Raw
{
    static int Create(int vmFd)
    {
        Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD); // expect: KVM1010
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: i-2001-wrong-capability-checked
class Raw
{
    static int Create(int vmFd)
    {
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_USER_MEMORY2) <= 0)
            throw new NotSupportedException("KVM_CAP_USER_MEMORY2");
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: i-2001-prefault
class Raw
{
    static int Prefault(int vcpuFd)
    {
        var arg = new kvm_pre_fault_memory { gpa = 0, size = 0x1000 };
        return Sys.Ioctl(vcpuFd, KvmIoctls.KVM_PRE_FAULT_MEMORY, ref arg); // expect: KVM2001
    }
}
//// case: i-2001-region2-untyped
class Raw
{
    static unsafe int Add(int vmFd, kvm_userspace_memory_region2 region)
    {
        // SAFETY: region lives on this frame for the duration of the call.
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value, &region); // expect: KVM2001
    }
}
//// case: i-2001-attributes-in-helper-without-proof
class Raw
{
    static int SetPrivate(int vmFd, ulong gpa)
    {
        var arg = new kvm_memory_attributes { address = gpa, size = 0x1000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in arg); // expect: KVM2001
    }
}
//// case: i-2001-check-in-lambda-only
// why: a check inside a lambda that is never called before the ioctl does not gate it; the page counts checks "in
// the method", and a demanding user reads the lambda as a different method.
class Raw
{
    static int Create(int vmFd)
    {
        Func<bool> supported = () => Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) > 0;
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: i-2001-ok-proof-parameter
class Raw
{
    static int Create(GuestMemfdFeature proof, int vmFd)
    {
        var arg = new kvm_create_guest_memfd { size = 0x10000, flags = (ulong)proof.SupportedFlags };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
    }
}
//// case: i-2001-ok-cap-in-local
class Raw
{
    static int Create(int vmFd)
    {
        var cap = KvmCap.KVM_CAP_GUEST_MEMFD;
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)cap) <= 0)
            return -1;
        var arg = new kvm_create_guest_memfd { size = 0x10000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
    }
}
//// case: i-2001-ok-vm-capabilities
class Raw
{
    static int SetShared(VmFd vm, int vmFd, ulong gpa)
    {
        if (!vm.Capabilities.Has(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES))
            return -1;
        var arg = new kvm_memory_attributes { address = gpa, size = 0x1000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in arg);
    }
}
//// case: i-2001-ok-feature-reference
class Raw
{
    static int Create(VmFd vm, int vmFd)
    {
        if (vm.GuestMemfd is null)
            throw new NotSupportedException("KVM_CAP_GUEST_MEMFD is 0 on this VM");
        var arg = new kvm_create_guest_memfd { size = 0x20_0000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
    }
}
//// case: i-2001-ok-ungated-ioctl
class Raw
{
    static int Add(int vmFd, ulong host)
    {
        var r = new kvm_userspace_memory_region { slot = 0, memory_size = 0x10000, userspace_addr = host };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, in r);
    }
}
//// case: i-2001-ok-region2-checked
class Raw
{
    static int Add(VmFd vm, int vmFd, kvm_userspace_memory_region2 r)
    {
        if (vm.Capabilities.Check(KvmCap.KVM_CAP_USER_MEMORY2) <= 0)
            throw new NotSupportedException("KVM_SET_USER_MEMORY_REGION2 needs KVM_CAP_USER_MEMORY2");
        var rc = Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in r);
        if (rc < 0)
            throw new InvalidOperationException($"KVM_SET_USER_MEMORY_REGION2: errno {Sys.LastErrno}");
        return rc;
    }
}
//// case: i-1010-try-punch-statement
// why: a void expression-bodied member drops the KvmResult exactly as a statement of its own does.
class Balloon
{
    static void Release(GmemFd g) => g.TryPunchHole(0, 0x1000); // expect: KVM1010
}
//// case: i-1010-discard-try-set
class Convert
{
    static void Share(MemoryAttributesFeature attrs)
    {
        _ = attrs.TrySet(0, 0x1000, 0); // expect: KVM1010
    }
}
//// case: i-1010-conditional-try-set
class Convert
{
    static void Share(VmFd vm)
    {
        vm.MemoryAttributes?.TrySet(0, 0x1000, 0); // expect: KVM1010
    }
}
//// case: i-1010-raw-ioctl-statement
class Raw
{
    static void Add(int vmFd, ulong host)
    {
        var r = new kvm_userspace_memory_region { slot = 0, memory_size = 0x10000, userspace_addr = host };
        Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, in r); // expect: KVM1010
    }
}
//// case: i-1010-try-create-vm-statement
class Boot
{
    static void Start(KvmSystem kvm)
    {
        kvm.TryCreateVm(VmType.X86SwProtected, out var vm); // expect: KVM1010
        vm?.Dispose();
    }
}
//// case: i-1010-try-enable-cap
class Boot
{
    static void Start(VmFd vm)
    {
        vm.TryEnableCap(KvmCap.KVM_CAP_X86_DISABLE_EXITS, 0); // expect: KVM1010
    }
}
//// case: i-1010-try-to-private-in-loop
class Convert
{
    static void PrivateAll(IGuestMemoryConversion conv, IEnumerable<ulong> pages)
    {
        foreach (var gpa in pages)
            conv.TryToPrivate(gpa, 0x1000); // expect: KVM1010
    }
}
//// case: i-1010-discard-try-allocate-lambda
class Ram
{
    static Action Prefill(GmemFd g) => () => { _ = g.TryAllocate(0, 0x1000); }; // expect: KVM1010
}
//// case: i-1010-ok-checked
class Balloon
{
    static void Release(GmemFd g, ulong offset)
    {
        var r = g.TryPunchHole(offset, 0x1000);
        if (!r.IsSuccess)
            Console.Error.WriteLine($"punch hole: {r}");
    }
}
//// case: i-1010-ok-raw-checked
class Raw
{
    static void Add(int vmFd, ulong host)
    {
        var r = new kvm_userspace_memory_region { slot = 0, memory_size = 0x10000, userspace_addr = host };
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, in r) < 0)
            throw new InvalidOperationException($"errno {Sys.LastErrno}");
    }
}
//// case: i-1010-ok-returned
class Ram
{
    static KvmResult Prefill(GmemFd g) => g.TryAllocate(0, g.Size);
}
//// case: i-1010-ok-passed-to-logger
class Convert
{
    static void Log(KvmResult r) => Console.WriteLine(r);

    static void Share(IGuestMemoryConversion conv) => Log(conv.TryToShared(0, 0x1000));
}
//// case: i-1010-ok-collected
class Convert
{
    static bool ShareAll(IGuestMemoryConversion conv, ulong[] pages) =>
        pages.Select(p => conv.TryToShared(p, 0x1000)).All(r => r.IsSuccess);
}
