// Independent corpus (issue #15), written blind: the same rules met through the shapes VMM code takes - records and
// classes holding handles, other types' fields, lambdas and LINQ, async methods, try/finally, switch expressions.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Kvm;
using Kvm.Interop;
//// case: s-1006-record-without-ownership
// why: a record that is not IDisposable and whose parameter has no [TakesOwnership] cannot dispose the VM.
record GuestInfo(VmFd Vm, string Name);

class Boot
{
    static GuestInfo Start(KvmSystem kvm) => Describe(kvm);

    static GuestInfo Describe(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        return new GuestInfo(vm, "guest");
    }
}
//// case: s-1006-async-loop-vcpus
// why (phase 2): the blind version handed the vCPU to `Task.Run(() => vcpu.EnterRealMode())`; KVM1006's page counts
// "captured by a lambda" as handing it on, so that expectation was wrong per the page. The vCPU is now used directly.
class Service
{
    static async Task RunAsync(VmFd vm, int n)
    {
        for (var i = 0; i < n; i++)
        {
            var vcpu = vm.CreateVcpu(i); // expect: KVM1006
            await Task.Yield();
            vcpu.EnterRealMode();
        }
    }
}
//// case: s-1006-gmem-in-try
class Ram
{
    static void Setup(VmFd vm, HostMemory shared)
    {
        try
        {
            var g = vm.GuestMemfd!.Create(0x10_0000); // expect: KVM1006
            vm.Memslots.Add(0, g, 0, 0x10_0000, shared);
        }
        catch (KvmException e)
        {
            Console.Error.WriteLine(e.Message);
        }
    }
}
//// case: s-1004-other-class-static-readonly
static class SlotFlags
{
    public static readonly KvmMemFlags Private = KvmMemFlags.KVM_MEM_GUEST_MEMFD | KvmMemFlags.KVM_MEM_READONLY;
}

class Raw
{
    static kvm_userspace_memory_region2 Build(uint fd)
    {
        var r = new kvm_userspace_memory_region2 { memory_size = 0x1000, guest_memfd = fd };
        r.flags = (uint)SlotFlags.Private; // expect: KVM1004
        return r;
    }
}
//// case: s-1003-other-class-const
static class Layout
{
    public const ulong PciHole = 0xE000_0100;
}

class Ram
{
    static void Setup(VmFd vm, HostMemory high)
    {
        vm.Memslots.Add(Layout.PciHole, high); // expect: KVM1003
    }
}
//// case: s-1009-other-class-static-readonly
static class Sizes
{
    public static readonly ulong Firmware = 0;
}

class Ram
{
    static void Setup(KvmSystem kvm)
    {
        using var fw = kvm.AllocateHostMemory(Sizes.Firmware); // expect: KVM1009
    }
}
//// case: s-1001-in-foreach-lambda
//// config: build_property.KvmInPlaceConversion = true
class Convert
{
    static void Private(VmFd vm, List<ulong> pages)
    {
        pages.ForEach(gpa => vm.MemoryAttributes!.Set(gpa, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE)); // expect: KVM1001
    }
}
//// case: s-1002-switch-vm-type
class Boot
{
    static void Start(KvmSystem kvm, int variant)
    {
        var type = variant switch { 0 => VmType.X86Default, 1 => VmType.X86Sev, _ => VmType.X86SevEs };
        using var vm = kvm.CreateVm(type);
        vm.MemoryAttributes!.Set(0, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE); // expect: KVM1002
    }
}
//// case: s-1014-async-write
class Loader
{
    static async Task LoadAsync(GuestMemfdFeature f, Func<Task<byte[]>> read)
    {
        using var g = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var m = g.Map();
        var image = await read();
        m.Write(0, image); // expect: KVM1014
    }
}
//// case: s-1005-try-finally
class Loader
{
    static void Load(GuestMemfdFeature f, byte[] image)
    {
        var g = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        try
        {
            using var m = g.Map(); // expect: KVM1005
            m.Write(0, image);
        }
        finally
        {
            g.Dispose();
        }
    }
}
//// case: s-2001-async-no-check
class Raw
{
    static async Task<int> CreateAsync(int vmFd)
    {
        await Task.Yield();
        var arg = new kvm_create_guest_memfd { size = 0x20_0000 };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg); // expect: KVM2001
    }
}
//// case: s-1010-async-discard
class Convert
{
    static async Task ShareAsync(IGuestMemoryConversion conv)
    {
        await Task.Yield();
        conv.TryToShared(0, 0x1000); // expect: KVM1010
    }
}
//// case: s-1012-helper-created-vm-local
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86Snp);
        var f = vm.GuestMemfd;
        if (f is null)
            return;
        using var g = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED); // expect: KVM1012
    }
}
//// case: s-1008-async-after-vcpu
class Boot
{
    static async Task StartAsync(VmFd vm)
    {
        using var vcpu = vm.CreateVcpu(0);
        await Task.Yield();
        vm.EnableSplitIrqchip(); // expect: KVM1008
    }
}
//// case: s-1007-do-while
class Cpu
{
    static void Loop(VcpuFd vcpu, CpuidTable table)
    {
        var reason = VcpuExitReason.Unknown;
        do
        {
            vcpu.SetCpuid2(table); // expect: KVM1007
            reason = vcpu.Run().Reason;
        } while (reason == VcpuExitReason.Io);
    }
}
//// case: s-1015-attributes-flags-static-readonly
class Raw
{
    static readonly ulong ReservedFlags = 1;

    static kvm_memory_attributes Build(ulong gpa) => new()
    {
        address = gpa,
        size = 0x1000,
        flags = ReservedFlags, // expect: KVM1015
    };
}
//// case: s-ok-record-with-ownership
sealed record Guest([TakesOwnership] VmFd Vm) : IDisposable
{
    public void Dispose() => Vm.Dispose();

    public static Guest Start(KvmSystem kvm) => new(kvm.CreateVm());
}
//// case: s-ok-linq-vcpus-disposed
class Cpus
{
    static void Run(VmFd vm, int n)
    {
        var vcpus = Enumerable.Range(0, n).Select(vm.CreateVcpu).ToList();
        try
        {
            foreach (var v in vcpus)
                v.EnterRealMode();
        }
        finally
        {
            vcpus.ForEach(v => v.Dispose());
        }
    }
}
//// case: s-ok-async-memory-setup
class Ram
{
    static async Task<(SlotHandle Slot, HostMemory Ram)> SetupAsync(KvmSystem kvm, VmFd vm, Func<Task<byte[]>> read)
    {
        var image = await read();
        var ram = kvm.AllocateHostMemory(0x100_0000);
        ram.Write(0, image);
        try
        {
            return (vm.Memslots.Add(0, ram), ram);
        }
        catch
        {
            ram.Dispose();
            throw;
        }
        finally
        {
            Console.WriteLine("slot added");
        }
    }
}
//// case: s-ok-other-class-aligned
static class Layout
{
    public const ulong HighRam = 0x1_0000_0000;
    public static readonly ulong HighSize = 0x4000_0000;
}

class Ram
{
    static void Setup(KvmSystem kvm, VmFd vm)
    {
        using var high = kvm.AllocateHostMemory(Layout.HighSize);
        vm.Memslots.Add(Layout.HighRam, high);
    }
}
//// case: s-ok-pattern-conversion-backend
class Convert
{
    static void Flip(VmFd vm, ulong gpa, bool toPrivate)
    {
        switch (vm.Conversion)
        {
            case null:
                throw new NotSupportedException("no private memory");
            case var c when toPrivate:
                c.ToPrivate(gpa, 0x1000);
                break;
            case var c:
                c.ToShared(gpa, 0x1000);
                break;
        }
    }
}
//// case: s-ok-cleanup-stack
class Vmm
{
    static void Run(KvmSystem kvm)
    {
        var cleanup = new Stack<Action>();
        try
        {
            var vm = kvm.CreateVm();
            cleanup.Push(vm.Dispose);
            var ram = kvm.AllocateHostMemory(0x10_0000);
            cleanup.Push(ram.Dispose);
            vm.Memslots.Add(0, ram);
            var vcpu = vm.CreateVcpu(0);
            cleanup.Push(vcpu.Dispose);
            vcpu.EnterRealMode();
            vcpu.Run();
        }
        finally
        {
            while (cleanup.Count > 0)
                cleanup.Pop()();
        }
    }
}
