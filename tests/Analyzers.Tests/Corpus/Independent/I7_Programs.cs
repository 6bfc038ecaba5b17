// Independent corpus (issue #15), written blind: realistic VMM code paths, mostly correct (memory setup, vCPU loops,
// shutdown, capability probing, conversions, raw ioctls that check what they should), with a few mistakes buried in
// otherwise sound programs.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kvm;
using Kvm.Interop;
//// case: p-real-mode-hello
class Vmm
{
    static int Main()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var ram = kvm.AllocateHostMemory(0x10_0000);
        ram.Write(0, new byte[] { 0xBA, 0xF8, 0x03, 0xB0, 0x41, 0xEE, 0xF4 });
        vm.Memslots.Add(0, ram);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.SetCpuid2(kvm.GetSupportedCpuid());
        vcpu.EnterRealMode();
        while (true)
        {
            var exit = vcpu.Run();
            switch (exit.Reason)
            {
                case VcpuExitReason.Io:
                    Console.Write('.');
                    continue;
                case VcpuExitReason.Hlt:
                    return 0;
                default:
                    return 1;
            }
        }
    }
}
//// case: p-sw-protected-private-boot
class Vmm
{
    const ulong RamSize = 0x40_0000;

    static void Main()
    {
        using var kvm = KvmSystem.Open();
        if (!kvm.SupportsVmType(VmType.X86SwProtected))
            return;
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        var gmemFeature = vm.GuestMemfd ?? throw new NotSupportedException("guest_memfd");
        using var shared = kvm.AllocateHostMemory(RamSize);
        using var gmem = gmemFeature.Create(RamSize);
        vm.Memslots.Add(0, gmem, 0, RamSize, shared);
        var conversion = vm.Conversion ?? throw new NotSupportedException("no PRIVATE attribute");
        conversion.ToPrivate(0x10_0000, 0x10_0000);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.EnterRealMode();
        var exit = vcpu.RunServicingMemoryFaults(conversion);
        Console.WriteLine(exit.Reason);
    }
}
//// case: p-mmap-gmem-shared-image
class Vmm
{
    static void Main()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var f = vm.GuestMemfd;
        if (f is null || (f.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP) == 0)
            return;
        using var g = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var map = g.Map();
        map.Write(0x1000, new byte[] { 0xF4 });
        vm.Memslots.Add(0, map);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.EnterRealMode(0x1000);
        vcpu.Run();
    }
}
//// case: p-capability-report
class Probe
{
    static void Main()
    {
        using var kvm = KvmSystem.Open();
        Console.WriteLine($"api {kvm.ApiVersion}, vcpu mmap {kvm.VcpuMmapSize}");
        Console.WriteLine($"irqfd {kvm.Capabilities.Has(KvmCap.KVM_CAP_IRQFD)}");
        foreach (var type in new[] { VmType.X86Default, VmType.X86SwProtected })
        {
            if (!kvm.SupportsVmType(type))
                continue;
            using var vm = kvm.CreateVm(type);
            Console.WriteLine($"{type}: guest_memfd {vm.GuestMemfd is not null}, attrs {vm.MemoryAttributes?.Supported}");
            Console.WriteLine($"  gmem flags {vm.Capabilities.CheckMask(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS)}");
        }
    }
}
//// case: p-machine-owner
sealed class Machine : IDisposable
{
    private readonly KvmSystem _kvm;
    private readonly VmFd _vm;
    private readonly HostMemory _ram;
    private readonly List<VcpuFd> _vcpus = new();

    public Machine(int cpus, ulong ramSize)
    {
        _kvm = KvmSystem.Open();
        _vm = _kvm.CreateVm();
        _vm.Irqchip?.CreateIrqchip();
        _ram = _kvm.AllocateHostMemory(ramSize);
        _vm.Memslots.Add(0, _ram);
        for (var i = 0; i < cpus; i++)
            _vcpus.Add(_vm.CreateVcpu(i));
    }

    public void Dispose()
    {
        foreach (var v in _vcpus)
            v.Dispose();
        _vm.Dispose();
        _ram.Dispose();
        _kvm.Dispose();
    }
}
//// case: p-vcpu-threads
class Vmm
{
    static void RunAll(VmFd vm, int n, CancellationToken ct)
    {
        var threads = new List<Thread>();
        for (var i = 0; i < n; i++)
        {
            var id = i;
            var t = new Thread(() =>
            {
                using var vcpu = vm.CreateVcpu(id);
                while (!ct.IsCancellationRequested && vcpu.Run().Reason != VcpuExitReason.Shutdown)
                {
                }
            });
            threads.Add(t);
            t.Start();
        }
        foreach (var t in threads)
            t.Join();
    }
}
//// case: p-runtime-conversion-backend
class Convert
{
    static void MakePrivate(VmFd vm, ulong gpa, ulong size)
    {
        var conversion = vm.InPlaceConversion ?? vm.Conversion;
        if (conversion is null)
            throw new NotSupportedException($"{vm.Type} has no private memory");
        var r = conversion.TryToPrivate(gpa, size);
        if (!r.IsSuccess)
            throw new InvalidOperationException($"to private: {r}");
    }
}
//// case: p-balloon-deflate
class Balloon
{
    static int Release(GmemFd g, IEnumerable<ulong> pages)
    {
        var failed = 0;
        foreach (var offset in pages)
        {
            var r = g.TryPunchHole(offset, 0x1000);
            if (!r.IsSuccess)
                failed++;
        }
        return failed;
    }
}
//// case: p-prefault-boot-range
class Boot
{
    static void Warm(VmFd vm, VcpuFd bsp)
    {
        var prefault = vm.PreFault;
        if (prefault is null)
            return;
        prefault.PreFaultMemory(bsp, 0, 0x20_0000);
    }
}
//// case: p-raw-region2-guarded
class Raw
{
    static void AddGmemSlot(VmFd vm, int vmFd, uint gmemFd, ulong host)
    {
        if (vm.GuestMemfd is null || !vm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2))
            throw new NotSupportedException("guest_memfd memslots");
        var r = new kvm_userspace_memory_region2
        {
            slot = 5,
            flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD,
            guest_phys_addr = 0x1_0000_0000,
            memory_size = 0x20_0000,
            userspace_addr = host,
            guest_memfd = gmemFd,
            guest_memfd_offset = 0,
        };
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION2, in r) < 0)
            throw new InvalidOperationException($"KVM_SET_USER_MEMORY_REGION2 errno {Sys.LastErrno}");
    }
}
//// case: p-raw-create-gmem-checked
class Raw
{
    static int CreateGmem(int vmFd, ulong size)
    {
        var answer = Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD);
        if (answer <= 0)
            return -1;
        var arg = new kvm_create_guest_memfd { size = size };
        var fd = Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg);
        return fd < 0 ? -Sys.LastErrno : fd;
    }
}
//// case: p-raw-attributes-checked
class Raw
{
    static void Share(int vmFd, ulong gpa, ulong size)
    {
        var mask = (ulong)Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES);
        if (mask == 0)
            return;
        var arg = new kvm_memory_attributes { address = gpa, size = size, attributes = 0, flags = 0 };
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, in arg) != 0)
            throw new InvalidOperationException("KVM_SET_MEMORY_ATTRIBUTES");
    }
}
//// case: p-fd-borrow-raw-region
class Raw
{
    static void AddRom(VmFd vm, HostMemory rom)
    {
        using var fd = vm.BorrowFd();
        var r = new kvm_userspace_memory_region
        {
            slot = 9,
            flags = (uint)KvmMemFlags.KVM_MEM_READONLY,
            guest_phys_addr = 0xFFFF_0000,
            memory_size = 0x1_0000,
            userspace_addr = 0,
        };
        var rc = Sys.Ioctl(fd.Value, KvmIoctls.KVM_SET_USER_MEMORY_REGION, in r);
        if (rc < 0)
            throw new InvalidOperationException($"errno {Sys.LastErrno}");
        Console.WriteLine(rom.Length);
    }
}
//// case: p-shutdown-order
sealed class Guest : IDisposable
{
    private readonly VmFd _vm;
    private readonly GmemFd _gmem;
    private readonly GmemMapping _map;

    public Guest(KvmSystem kvm)
    {
        _vm = kvm.CreateVm();
        var f = _vm.GuestMemfd ?? throw new NotSupportedException("guest_memfd");
        _gmem = f.Create(0x20_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        _map = _gmem.Map();
        _vm.Memslots.Add(0, _map);
    }

    public void Dispose()
    {
        _map.Dispose();
        _gmem.Dispose();
        _vm.Dispose();
    }
}
//// case: p-dirty-log-host-slot
class Migrate
{
    static void Track(KvmSystem kvm, VmFd vm)
    {
        using var ram = kvm.AllocateHostMemory(0x100_0000);
        var slot = vm.Memslots.Add(0, ram, flags: KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES);
        Console.WriteLine(slot);
    }
}
//// case: p-rom-readonly-plus-ram
class Board
{
    static void Map(KvmSystem kvm, VmFd vm, byte[] bios)
    {
        using var ram = kvm.AllocateHostMemory(0x800_0000);
        using var rom = kvm.AllocateHostMemory(0x2_0000);
        rom.Write(0, bios);
        vm.Memslots.Add(0, ram);
        if (vm.Memslots.SupportsReadonly)
            vm.Memslots.Add(0xFFFE_0000, rom, flags: KvmMemFlags.KVM_MEM_READONLY);
    }
}
//// case: p-arm64-mmap-gmem
class Arm
{
    static void Boot(KvmSystem kvm, byte[] image)
    {
        using var vm = kvm.CreateVm(VmType.Arm64Default);
        var f = vm.GuestMemfd ?? throw new NotSupportedException("guest_memfd");
        using var g = f.Create(0x100_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        m.Write(0x8_0000, image);
        vm.Memslots.Add(0x4000_0000, g, 0, 0x100_0000);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.InitArm64();
        vcpu.Run();
    }
}
//// case: p-arm64-target-host-ram
//// config: build_property.KvmTargetArchitecture = arm64
class Arm
{
    static void Boot(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.Arm64(40));
        using var ram = kvm.AllocateHostMemory(0x800_0000);
        vm.Memslots.Add(0x4000_0000, ram);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.InitArm64();
    }
}
//// case: p-in-place-project-gmem-convert
//// config: build_property.KvmUapiProfile = 7.3.4+inplace-conversion-v8
class Vmm
{
    static void Run(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        var f = vm.GuestMemfd ?? throw new NotSupportedException("guest_memfd");
        using var g = f.Create(0x40_0000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        vm.Memslots.Add(0, m);
        m.Write(0, new byte[] { 0xF4 });
        var conversion = vm.InPlaceConversionV8 ?? throw new NotSupportedException("in-place conversion");
        conversion.ToPrivate(0x10_0000, 0x10_0000);
    }
}
//// case: p-range-converter-loop
class Convert
{
    static int Service(VcpuFd vcpu, IGuestMemoryConversion conversion)
    {
        var exits = 0;
        for (;;)
        {
            var exit = vcpu.RunServicingMemoryFaults(conversion, maxConversions: 16);
            exits++;
            if (exit.Reason is VcpuExitReason.Hlt or VcpuExitReason.Shutdown)
                return exits;
        }
    }
}
//// case: p-async-host
class Host
{
    static async Task<int> BootAsync(CancellationToken ct)
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var ram = kvm.AllocateHostMemory(0x100_0000);
        vm.Memslots.Add(0, ram);
        await Task.Delay(10, ct);
        return vm.Memslots.Count;
    }
}
//// case: p-linq-slot-report
class Report
{
    static string Describe(VmFd vm) =>
        string.Join(", ", vm.Memslots.Slots.Select(s => s.ToString()));
}
//// case: p-split-irqchip-then-vcpus
class Board
{
    static void Setup(KvmSystem kvm, int cpus)
    {
        using var vm = kvm.CreateVm();
        vm.SetTssAddress(0xFFFB_D000);
        vm.SetIdentityMapAddress(0xFFFB_C000);
        vm.EnableSplitIrqchip(24);
        if ((vm.SupportedDisableExits & X86DisableExits.Hlt) != 0)
            vm.DisableExits(X86DisableExits.Hlt);
        var vcpus = new VcpuFd[cpus];
        try
        {
            for (var i = 0; i < cpus; i++)
                vcpus[i] = vm.CreateVcpu(i);
        }
        finally
        {
            foreach (var v in vcpus)
                v?.Dispose();
        }
    }
}
//// case: p-cpuid-patch-before-run
class Cpu
{
    static void Setup(KvmSystem kvm, VcpuFd vcpu)
    {
        var table = kvm.GetSupportedCpuid();
        for (var i = 0; i < table.Count; i++)
        {
            ref var e = ref table[i];
            if (e.function == 1)
                e.ecx &= ~(1u << 5);
        }
        vcpu.SetCpuid2(table);
        vcpu.EnterRealMode();
        vcpu.Run();
    }
}
//// case: p-snapshot-state
class Snapshot
{
    static (ulong Rip, ulong Cr0) Save(VcpuFd vcpu)
    {
        var regs = vcpu.GetRegs();
        var sregs = vcpu.GetSregs();
        return (regs.rip, sregs.cr0);
    }
}
//// case: p-try-create-fallback
class Boot
{
    static VmFd CreateBest(KvmSystem kvm)
    {
        var r = kvm.TryCreateVm(VmType.X86SwProtected, out var vm);
        if (r.IsSuccess && vm is not null)
            return vm;
        return kvm.CreateVm(VmType.X86Default);
    }
}
//// case: p-gmem-try-create-fallback
class Ram
{
    static GmemFd? Create(GuestMemfdFeature f, ulong size)
    {
        var wanted = GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP;
        var r = f.TryCreate(size, f.SupportedFlags & wanted, out var g);
        if (!r.IsSuccess)
            Console.Error.WriteLine($"guest_memfd: {r}");
        return g;
    }
}
//// case: p-state-query
class Inspect
{
    static int CountPrivate(IGuestMemoryConversion conversion, ulong size)
    {
        var n = 0;
        for (ulong gpa = 0; gpa < size; gpa += 0x1000)
            if (conversion.GetState(gpa) == PageState.Private)
                n++;
        return n;
    }
}
//// case: p-enable-cap-checked
class Boot
{
    static void Hypercalls(VmFd vm)
    {
        var r = vm.TryEnableCap(KvmCap.KVM_CAP_EXIT_HYPERCALL, 1);
        if (!r.IsSuccess)
            Console.WriteLine($"no hypercall exits: {r}");
    }
}
//// case: p-memfd-backed-ram
class Ram
{
    static void Setup(KvmSystem kvm, VmFd vm)
    {
        using var mem = kvm.AllocateMemfd(0x100_0000, new MemfdOptions { Name = "guest-ram" });
        vm.Memslots.Add(0, mem);
    }
}
//// case: p-huge-pages
class Ram
{
    static void Setup(KvmSystem kvm, VmFd vm)
    {
        using var ram = kvm.AllocateHostMemory(0x4000_0000, new HostMemoryOptions { HugePageSize = HugePageSizes.TwoMiB });
        vm.Memslots.Add(0, ram);
    }
}
//// case: p-exception-reporting
class Boot
{
    static void Start(KvmSystem kvm)
    {
        try
        {
            using var vm = kvm.CreateVm(VmType.X86Tdx);
            Console.WriteLine(vm.Type);
        }
        catch (KvmException e)
        {
            Console.Error.WriteLine($"{e.Operation}: {e.ErrnoName}");
        }
    }
}
//// case: p-lease-shared-gmem
class Loader
{
    static void Zero(GuestMemfdFeature f)
    {
        using var g = f.Create(0x10000, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var m = g.Map();
        using var lease = m.Lease(0, 4096);
        lease.Span.Clear();
    }
}
//// case: p-private-then-shared-region
class Convert
{
    static void Bounce(VmFd vm)
    {
        var conversion = vm.Conversion;
        if (conversion is null)
            return;
        conversion.ToPrivate(0, 0x20_0000);
        conversion.ToShared(0x1F_F000, 0x1000);
    }
}
//// case: p-vm-per-test-helper
class Fixture
{
    static T WithVm<T>(KvmSystem kvm, Func<VmFd, T> body)
    {
        using var vm = kvm.CreateVm();
        return body(vm);
    }
}
//// case: p-find-slot
class Mmu
{
    static bool IsRam(VmFd vm, ulong gpa) => vm.Memslots.Find(gpa) is not null;
}
//// case: p-host-memory-in-using-block
class Ram
{
    static byte ReadFirst(KvmSystem kvm)
    {
        using (var ram = kvm.AllocateHostMemory(0x1000))
        {
            Span<byte> b = stackalloc byte[1];
            ram.Read(0, b);
            return b[0];
        }
    }
}
//// case: p-bug-vcpu-leak-in-board
// A realistic board setup with one leak: the AP vCPU is neither kept nor disposed.
sealed class Board : IDisposable
{
    private readonly VmFd _vm;
    private readonly VcpuFd _bsp;

    public Board(KvmSystem kvm)
    {
        _vm = kvm.CreateVm();
        _vm.Irqchip?.CreateIrqchip();
        _bsp = _vm.CreateVcpu(0);
        var ap = _vm.CreateVcpu(1); // expect: KVM1006
        ap.EnterRealMode();
    }

    public void Dispose()
    {
        _bsp.Dispose();
        _vm.Dispose();
    }
}
//// case: p-bug-unaligned-bios
class Board
{
    const ulong BiosBase = 0xFFFE_0000;
    const ulong BiosSize = 0x1_F800;

    static void Map(KvmSystem kvm, VmFd vm)
    {
        using var rom = kvm.AllocateHostMemory(BiosSize); // expect: KVM1003
        vm.Memslots.Add(BiosBase, rom, flags: KvmMemFlags.KVM_MEM_READONLY);
    }
}
//// case: p-bug-irqchip-late-in-setup
class Board
{
    static void Setup(KvmSystem kvm)
    {
        using var vm = kvm.CreateVm();
        using var ram = kvm.AllocateHostMemory(0x100_0000);
        vm.Memslots.Add(0, ram);
        using var bsp = vm.CreateVcpu(0);
        bsp.SetCpuid2(kvm.GetSupportedCpuid());
        if (vm.Irqchip is not null)
            vm.Irqchip.CreateIrqchip(); // expect: KVM1008
        bsp.Run();
    }
}
//// case: p-bug-dropped-try-allocate
class Ram
{
    static void Prefill(GmemFd g)
    {
        for (ulong off = 0; off < g.Size; off += 0x20_0000)
            g.TryAllocate(off, 0x20_0000); // expect: KVM1010
    }
}
//// case: p-bug-system-probe-gmem
class Probe
{
    static bool CanUsePrivateMemory(KvmSystem kvm) =>
        kvm.SupportsVmType(VmType.X86SwProtected) && kvm.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD) > 0; // expect: KVM1011
}
