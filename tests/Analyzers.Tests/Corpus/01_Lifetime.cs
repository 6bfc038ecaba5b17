using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kvm;
using Kvm.Interop;

//// case: discard-assigned-vm
class Probe
{
    static void Main()
    {
        using var kvm = KvmSystem.Open();
        _ = kvm.CreateVm(); // expect: KVM1006
        Console.WriteLine("KVM works");
    }
}
//// case: later-assignment
class Launcher
{
    public void Start(KvmSystem kvm)
    {
        VmFd vm;
        vm = kvm.CreateVm(); // expect: KVM1006
        vm.Memslots.Add(0, kvm.AllocateHostMemory(0x10000)); // expect: KVM1006
        Console.WriteLine(vm.Type);
    }
}
//// case: is-pattern-handle
class Checker
{
    public bool HasGuestMemfd(KvmSystem kvm)
    {
        if (kvm.CreateVm(VmType.X86SwProtected) is { } vm) // expect: KVM1006
            return vm.GuestMemfd is not null;
        return false;
    }
}
//// case: ternary-factories
class Factory
{
    public int Slots(KvmSystem kvm, bool confidential)
    {
        var vm = confidential ? kvm.CreateVm(VmType.X86SwProtected) : kvm.CreateVm(); // expect: KVM1006
        return vm.Memslots.MaxSlots;
    }
}
//// case: conditional-create-gmem
class GmemProbe
{
    public ulong Probe(VmFd vm)
    {
        var g = vm.GuestMemfd?.Create(0x200000); // expect: KVM1006
        return g?.Size ?? 0;
    }
}
//// case: writeline-does-not-hand-on
class Printer
{
    public void Show(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        Console.WriteLine(vm);
    }
}
//// case: string-format-does-not-hand-on
class Logger
{
    public string Describe(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        return string.Format("vm {0} type {1}", vm, vm.Type);
    }
}
//// case: vcpu-in-loop-dropped
class Boot
{
    public void CreateAll(VmFd vm, int n)
    {
        for (var i = 0; i < n; i++)
        {
            var vcpu = vm.CreateVcpu(i); // expect: KVM1006
            vcpu.GetRegs();
        }
    }
}
//// case: open-chained
class Version
{
    public int Api() => KvmSystem.Open().ApiVersion; // expect: KVM1006
}
//// case: host-memory-dropped
class Ram
{
    public void Fill(KvmSystem kvm)
    {
        var ram = kvm.AllocateHostMemory(0x100000); // expect: KVM1006
        ram.Write(0, new byte[] { 0xf4 });
    }
}
//// case: map-dropped
class Loader
{
    public void Load(GmemFd g, byte[] image)
    {
        var m = g.Map(); // expect: KVM1006
        m.Write(0, image);
    }
}
//// case: gmem-statement
class Leak
{
    public void Make(GuestMemfdFeature f)
    {
        f.Create(0x10000); // expect: KVM1006
    }
}
//// case: debug-assert-does-not-hand-on
class Asserting
{
    public void Check(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        System.Diagnostics.Debug.Assert(vm != null);
        GC.KeepAlive(vm);
    }
}
//// case: reassigned-twice-first-leaks
class Retry
{
    public VmFd Make(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(VmType.X86SwProtected); // expect: KVM1006
        if (vm.GuestMemfd is null)
            vm = kvm.CreateVm();
        return vm;
    }
}
//// case: ternary-gmem
class Sizes
{
    public ulong Pick(GuestMemfdFeature f, bool big)
    {
        var g = big ? f.Create(0x200000) : f.Create(0x1000); // expect: KVM1006
        return g.Size;
    }
}
//// case: interpolation
class Interp
{
    public string Name(KvmSystem kvm)
    {
        var vcpuHost = kvm.CreateVm(); // expect: KVM1006
        return $"{vcpuHost}";
    }
}
//// case: nameof-no-hand-on
class Names
{
    public string Name(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(); // expect: KVM1006
        return nameof(vm) + vm.Type.Name;
    }
}
//// case: ok-using-declaration
class Ok1
{
    static void Main()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        vcpu.Run();
    }
}
//// case: ok-method-group-dispose
class Cleanup
{
    readonly Stack<Action> _undo = new();
    public void Build(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        _undo.Push(vm.Dispose);
        var vcpu = vm.CreateVcpu(0);
        _undo.Push(vcpu.Dispose);
    }
}
//// case: ok-returned
static class Vms
{
    public static VmFd Confidential(KvmSystem kvm)
    {
        var vm = kvm.CreateVm(VmType.X86SwProtected);
        return vm;
    }
}
//// case: ok-expression-bodied-factory
static class Vms2
{
    public static VmFd Make(KvmSystem kvm) => kvm.CreateVm();
    public static VcpuFd Cpu(VmFd vm, int id) => vm.CreateVcpu(id);
}
//// case: ok-field-in-disposable
sealed class Machine : IDisposable
{
    private readonly VmFd _vm;
    private readonly VcpuFd _cpu;
    public Machine(KvmSystem kvm)
    {
        _vm = kvm.CreateVm();
        _cpu = _vm.CreateVcpu(0);
    }
    public void Dispose() { _cpu.Dispose(); _vm.Dispose(); }
}
//// case: ok-property-in-disposable
sealed class Guest : IDisposable
{
    public VmFd Vm { get; }
    public HostMemory Ram { get; }
    public Guest(KvmSystem kvm)
    {
        Vm = kvm.CreateVm();
        Ram = kvm.AllocateHostMemory(0x200000);
        Vm.Memslots.Add(0, Ram);
    }
    public void Dispose() { Vm.Dispose(); Ram.Dispose(); }
}
//// case: ok-try-finally
class Ok2
{
    public void Run(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        try
        {
            vm.CreateIrqchipIfAny();
        }
        finally
        {
            vm.Dispose();
        }
    }
}
static class Ext { public static void CreateIrqchipIfAny(this VmFd vm) { } }
//// case: ok-list-of-vcpus
sealed class Smp : IDisposable
{
    private readonly List<VcpuFd> _cpus = new();
    public Smp(VmFd vm, int n)
    {
        for (var i = 0; i < n; i++)
            _cpus.Add(vm.CreateVcpu(i));
    }
    public void Dispose() { foreach (var c in _cpus) c.Dispose(); }
}
//// case: ok-using-statement
class Ok3
{
    public int Max(KvmSystem kvm)
    {
        using (var vm = kvm.CreateVm())
            return vm.Memslots.MaxSlots;
    }
}
//// case: ok-conditional-dispose
class Ok4
{
    public bool Probe(VmFd vm)
    {
        var g = vm.GuestMemfd?.Create(0x1000);
        try { return g is not null; }
        finally { g?.Dispose(); }
    }
}
//// case: ok-passed-to-own-wrapper
sealed class Board : IDisposable
{
    private readonly VmFd _vm;
    public Board(VmFd vm) => _vm = vm;
    public void Dispose() => _vm.Dispose();
    public static Board Create(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        return new Board(vm);
    }
}
//// case: ok-lambda-capture-dispose
class Deferred
{
    public Action Start(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        return () => vm.Dispose();
    }
}
//// case: ok-async-dispose-task
class AsyncRun
{
    public async Task RunAsync(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        using var cpu = vm.CreateVcpu(0);
        await Task.Run(() => cpu.Run());
    }
}
//// case: ok-out-parameter
class TryMake
{
    public bool TryMakeVm(KvmSystem kvm, out VmFd? vm)
    {
        vm = kvm.CreateVm();
        return true;
    }
}
//// case: ok-tuple-return
class Pair
{
    public (VmFd, VcpuFd) Make(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        var cpu = vm.CreateVcpu(0);
        return (vm, cpu);
    }
}
//// case: ok-disposables-list
sealed class Owner : IDisposable
{
    private readonly List<IDisposable> _owned = new();
    public void Build(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        _owned.Add(vm);
        var ram = kvm.AllocateHostMemory(0x10000);
        _owned.Add(ram);
        vm.Memslots.Add(0, ram);
    }
    public void Dispose() { foreach (var d in _owned) d.Dispose(); }
}
//// case: ok-slot-handle-kept-by-vm
class Slots
{
    public void Map(VmFd vm, HostMemory ram)
    {
        vm.Memslots.Add(0, ram);
        var slot = vm.Memslots.Add(0x100000, ram, 0, 0x1000);
        Console.WriteLine(slot.Id);
    }
}
//// case: ok-is-pattern-using
class Ok5
{
    public bool Probe(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        if (vm.GuestMemfd?.Create(0x1000) is { } g)
        {
            using (g)
                return g.IsMappable;
        }
        return false;
    }
}
//// case: ok-ternary-into-using
class Ok6
{
    public int Slots(KvmSystem kvm, bool cc)
    {
        using var vm = cc ? kvm.CreateVm(VmType.X86SwProtected) : kvm.CreateVm();
        return vm.Memslots.MaxSlots;
    }
}
//// case: ok-later-assignment-disposed
class Ok7
{
    public void Run(KvmSystem kvm)
    {
        VmFd vm;
        vm = kvm.CreateVm();
        using (vm)
            Console.WriteLine(vm.Type);
    }
}
//// case: ok-static-field
static class Shared
{
    public static KvmSystem? Kvm;
    public static void Init() => Kvm = KvmSystem.Open();
}
//// case: ok-dispose-in-catch-and-rethrow
class Ok8
{
    public VmFd Make(KvmSystem kvm)
    {
        var vm = kvm.CreateVm();
        try
        {
            vm.Memslots.Add(0, kvm.AllocateHostMemory(0x1000), 0, 0x1000); // expect: KVM1006
            return vm;
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }
}
