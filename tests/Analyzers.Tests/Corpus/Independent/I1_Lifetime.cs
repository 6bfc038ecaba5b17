// Independent corpus (issue #15), written blind from docs/diagnostics/*.md: KVM1006 handle lifetime.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Kvm;
using Kvm.Interop;
//// case: i-1006-discard-underscore
class Probe
{
    static void Touch(KvmSystem kvm)
    {
        _ = kvm.CreateVm(); // expect: KVM1006
    }
}
//// case: i-1006-later-assignment
class Boot
{
    static void Start(KvmSystem kvm)
    {
        VmFd vm;
        vm = kvm.CreateVm(); // expect: KVM1006
        Console.WriteLine(vm.Type.Name);
    }
}
//// case: i-1006-is-pattern
class Boot
{
    static void Start(KvmSystem kvm)
    {
        if (kvm.CreateVm() is { } vm) // expect: KVM1006
            Console.WriteLine(vm.Capabilities.Scope);
    }
}
//// case: i-1006-ternary-factories
class Boot
{
    static void Start(KvmSystem kvm, bool confidential)
    {
        var vm = confidential ? kvm.CreateVm(VmType.X86SwProtected) : kvm.CreateVm(VmType.X86Default); // expect: KVM1006
        Console.WriteLine(vm.SupportsPrivateMemory);
    }
}
//// case: i-1006-switch-factories
class Boot
{
    static void Start(KvmSystem kvm, int kind)
    {
        var vm = kind switch { 1 => kvm.CreateVm(VmType.X86SwProtected), _ => kvm.CreateVm() }; // expect: KVM1006
        Console.WriteLine(vm.Memslots.Count);
    }
}
//// case: i-1006-conditional-create
class Ram
{
    static void Setup(VmFd vm)
    {
        var g = vm.GuestMemfd?.Create(0x200000); // expect: KVM1006
        Console.WriteLine(g?.Size);
    }
}
//// case: i-1006-console-writeline-is-not-handoff
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        Console.WriteLine(vm);
    }
}
//// case: i-1006-interpolated-string
class Boot
{
    static string Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        return $"created {vm.Type}";
    }
}
//// case: i-1006-vcpu-in-loop
class Cpus
{
    static void RunAll(VmFd vm, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var vcpu = vm.CreateVcpu(i); // expect: KVM1006
            vcpu.Run();
        }
    }
}
//// case: i-1006-open-capabilities-chain
class Probe
{
    static bool HasIrqfd() => KvmSystem.Open().Capabilities.Has(KvmCap.KVM_CAP_IRQFD); // expect: KVM1006
}
//// case: i-1006-open-local-printed
class Probe
{
    static void Main()
    {
        var kvm = KvmSystem.Open(); // expect: KVM1006
        Console.WriteLine($"KVM API {kvm.ApiVersion}");
    }
}
//// case: i-1006-map-not-disposed
class Loader
{
    static void Load(GmemFd gmem, byte[] image)
    {
        var map = gmem.Map(); // expect: KVM1006
        map.Write(0, image);
    }
}
//// case: i-1006-async-method
class Service
{
    static async Task<int> StartAsync(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        await Task.Yield();
        return vm.Memslots.MaxSlots;
    }
}
//// case: i-1006-inside-lambda
class Service
{
    static Action Later(KvmSystem kvm) => () =>
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        Console.WriteLine(vm.Type);
    };
}
//// case: i-1006-finally-disposes-other
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        var vcpu = vm.CreateVcpu(0); // expect: KVM1006
        try
        {
            vcpu.Run();
        }
        finally
        {
            vm.Dispose();
        }
    }
}
//// case: i-1006-discarded-create-statement
class Ram
{
    static void Reserve(VmFd vm)
    {
        vm.GuestMemfd!.Create(0x200000); // expect: KVM1006
    }
}
//// case: i-1006-passed-to-plain-helper
// why: the issue makes ownership a contract ([TakesOwnership]); a helper that only reads the VM does not own it.
class Boot
{
    static void Describe(VmFd vm) => Console.WriteLine(vm.Type.Name);

    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        Describe(vm);
    }
}
//// case: i-1006-host-memory-given-to-memslot
// why: MemslotTable.Add has no [TakesOwnership]; the VM deletes the slot but never unmaps the host memory.
class Ram
{
    static void Setup(KvmSystem kvm, VmFd vm)
    {
        var ram = kvm.AllocateHostMemory(0x400000); // expect: KVM1006
        vm.Memslots.Add(0, ram);
    }
}
//// case: i-1006-ternary-feature-pattern
class Ram
{
    static void Setup(VmFd vm)
    {
        var g = vm.GuestMemfd is { } f ? f.Create(0x10000) : null; // expect: KVM1006
        Console.WriteLine(g is null);
    }
}
//// case: i-1006-discard-vcpu-create
class Cpus
{
    static void Prime(VmFd vm)
    {
        _ = vm.CreateVcpu(0); // expect: KVM1006
    }
}
//// case: i-1006-memfd-alloc-logged
class Ram
{
    static void Setup(KvmSystem kvm)
    {
        var ram = kvm.AllocateHostMemory(0x100000); // expect: KVM1006
        Console.WriteLine(ram.Length);
    }
}
//// case: i-1006-ok-method-group-push
class Machine
{
    static void Start(KvmSystem kvm, Stack<Action> cleanup)
    {
        var vm = kvm.CreateVm();
        cleanup.Push(vm.Dispose);
        Console.WriteLine(vm.Type);
    }
}
//// case: i-1006-ok-returned-from-factory
class Factory
{
    static VmFd Make(KvmSystem kvm, bool confidential)
    {
        var vm = kvm.CreateVm(confidential ? VmType.X86SwProtected : VmType.X86Default);
        Console.WriteLine(vm.Type);
        return vm;
    }
}
//// case: i-1006-ok-field-of-disposable-owner
sealed class Machine : IDisposable
{
    private readonly VmFd _vm;
    private readonly VcpuFd _vcpu;

    public Machine(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        _vm = vm;
        _vcpu = vm.CreateVcpu(0);
    }

    public void Dispose()
    {
        _vcpu.Dispose();
        _vm.Dispose();
    }
}
//// case: i-1006-ok-takes-ownership-parameter
sealed class Board([TakesOwnership] VmFd vm) : IDisposable
{
    public VmFd Vm { get; } = vm;
    public void Dispose() => Vm.Dispose();

    public static Board Build(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        return new Board(vm);
    }
}
//// case: i-1006-ok-try-finally
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        try
        {
            Console.WriteLine(vm.Memslots.MaxSlots);
        }
        finally
        {
            vm.Dispose();
        }
    }
}
//// case: i-1006-ok-nullable-finally
class Boot
{
    static void Start(KvmSystem kvm)
    {
        VmFd? vm = null;
        try
        {
            vm = kvm.CreateVm();
            Console.WriteLine(vm.Type);
        }
        finally
        {
            vm?.Dispose();
        }
    }
}
//// case: i-1006-ok-using-block
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using (var vm = kvm.CreateVm())
        {
            Console.WriteLine(vm);
        }
    }
}
//// case: i-1006-ok-tuple-return
class Factory
{
    static (VmFd Vm, VcpuFd Vcpu) Make(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        var vcpu = vm.CreateVcpu(0);
        return (vm, vcpu);
    }
}
//// case: i-1006-ok-slot-handle-kept-by-table
class Ram
{
    static void Setup(VmFd vm, HostMemory ram)
    {
        vm.Memslots.Add(0, ram);
        vm.Memslots.Add(0x100000000, ram, memoryOffset: 0, size: 0x1000);
    }
}
//// case: i-1006-ok-expression-lambda-factory
class Factory
{
    static void Run(KvmSystem kvm)
    {
        Func<VmFd> make = () => kvm.CreateVm();
        using var vm = make();
        Console.WriteLine(vm);
    }
}
//// case: i-1006-ok-owner-list-field
// why: the help page counts "put in a collection"; here the collection is a disposable owner's field.
sealed class Pool : IDisposable
{
    private readonly List<VcpuFd> _vcpus = new();

    public void Grow(VmFd vm, int n)
    {
        for (var i = 0; i < n; i++)
        {
            var vcpu = vm.CreateVcpu(i);
            _vcpus.Add(vcpu);
        }
    }

    public void Dispose()
    {
        foreach (var v in _vcpus)
            v.Dispose();
    }
}
//// case: i-1006-ok-property-store
sealed class Session : IDisposable
{
    public VmFd? Vm { get; private set; }

    public void Open(KvmSystem kvm) => Vm = kvm.CreateVm();

    public void Dispose() => Vm?.Dispose();
}
//// case: i-1006-ok-using-ternary
class Boot
{
    static void Start(KvmSystem kvm, bool sw)
    {
        using var vm = sw ? kvm.CreateVm(VmType.X86SwProtected) : kvm.CreateVm();
        using var g = vm.GuestMemfd?.Create(0x10000);
        Console.WriteLine(g?.Size);
    }
}
//// case: i-1006-ok-pattern-using
class Boot
{
    static void Start(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        if (vm.GuestMemfd is { } gmem)
        {
            using var g = gmem.Create(0x200000);
            Console.WriteLine(g.Flags);
        }
    }
}
//// case: i-1006-ok-try-create-vm
class Boot
{
    static void Start(KvmSystem kvm)
    {
        var r = kvm.TryCreateVm(VmType.X86SwProtected, out var vm);
        if (!r.IsSuccess || vm is null)
            return;
        using (vm)
            Console.WriteLine(vm.Type);
    }
}
//// case: i-1006-ok-async-using
class Service
{
    static async Task<int> StartAsync(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        await Task.Delay(1);
        return vm.Memslots.Count;
    }
}
