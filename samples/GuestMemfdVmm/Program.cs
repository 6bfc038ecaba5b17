// A tiny VMM on Kvm.Sdk: one x86 vCPU in real mode, memory from a guest_memfd.
//
//   1. open /dev/kvm, create a default VM
//   2. create a guest_memfd that the host may map (MMAP | INIT_SHARED, Linux 6.18+), copy the guest code into it
//   3. register it as the VM's memory at guest-physical 0 (a memslot)
//   4. run the vCPU: the guest writes 'K' to port 0x10 and halts
//   5. if the kernel has private memory (KVM_X86_SW_PROTECTED_VM), turn a page private and back
//
// Run: dotnet samples/GuestMemfdVmm/bin/Release/net10.0/GuestMemfdVmm.dll
using Kvm;
using Kvm.Interop;

const ulong MemorySize = 64 * 1024;
const ushort Port = 0x10;

// The guest, 16-bit real mode, loaded at 0:
//   mov dx, 0x10 ; mov al, [0x1000] ; out dx, al ; hlt
byte[] guest = [0xBA, 0x10, 0x00, 0xA0, 0x00, 0x10, 0xEE, 0xF4];
const ulong DataPage = 0x1000; // the byte the guest sends lives here

if (Environment.OSVersion.Platform != PlatformID.Unix || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
{
    Console.WriteLine("This sample runs an x86 real-mode guest: it needs Linux on x86_64.");
    return 0;
}

using var kvm = KvmSystem.Open();
Console.WriteLine($"KVM API {kvm.ApiVersion}; KVM_CAP_GUEST_MEMFD = {kvm.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD)}");

// --- 1..4: a default VM whose memory is a host-mappable guest_memfd -------------------------------------------------
using (var vm = kvm.CreateVm(VmType.X86Default))
{
    // The feature object is null when the kernel said no: the compiler makes us handle that.
    if (vm.GuestMemfd is not { } gmemFeature ||
        !gmemFeature.SupportedFlags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED))
    {
        Console.WriteLine("guest_memfd with MMAP | INIT_SHARED: not supported here (needs Linux 6.18+).");
        return 0;
    }

    using var gmem = gmemFeature.Create(MemorySize, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
    using var memory = gmem.Map();          // host view of the guest_memfd (all pages shared: INIT_SHARED)
    memory.Write(0, guest);                 // the code at guest-physical 0
    memory.Write(DataPage, "K"u8);          // the byte it sends
    using var slot = vm.Memslots.Add(gpa: 0, memory);
    Console.WriteLine($"memslot: {slot}");

    using var vcpu = vm.CreateVcpu(0);
    EnterRealModeAtZero(vcpu);
    RunUntilHalt(vcpu, "default VM");
}

// --- 5: private memory, where the kernel has it ---------------------------------------------------------------------
if (!kvm.SupportsVmType(VmType.X86SwProtected))
{
    Console.WriteLine("private memory: not supported here (KVM_X86_SW_PROTECTED_VM is not in KVM_CAP_VM_TYPES).");
    return 0;
}
using (var vm = kvm.CreateVm(VmType.X86SwProtected))
{
    if (vm.GuestMemfd is not { } gmemFeature || vm.Conversion is not { } conversion)
    {
        Console.WriteLine("private memory: not supported here (no guest_memfd or no KVM_MEMORY_ATTRIBUTE_PRIVATE on this VM).");
        return 0;
    }
    // Classic private-memory layout: private pages come from the guest_memfd, shared pages from ordinary host
    // memory; the VM's memory attributes choose per page (everything starts shared).
    using var gmem = gmemFeature.Create(MemorySize);
    using var shared = kvm.AllocateHostMemory(MemorySize);
    shared.Write(0, guest);
    shared.Write(DataPage, "S"u8);
    using var slot = vm.Memslots.Add(gpa: 0, gmem, gmemOffset: 0, size: MemorySize, shared: shared);
    using var vcpu = vm.CreateVcpu(0);

    conversion.ToPrivate(DataPage, 4096);   // the data page now comes from the guest_memfd (zeroes), not from `shared`
    Console.WriteLine($"page 0x{DataPage:X} is {conversion.GetState(DataPage)}");
    EnterRealModeAtZero(vcpu);
    RunUntilHalt(vcpu, "SW_PROTECTED VM, data page private");

    conversion.ToShared(DataPage, 4096);    // back to the host's memory
    Console.WriteLine($"page 0x{DataPage:X} is {conversion.GetState(DataPage)}");
    EnterRealModeAtZero(vcpu);
    RunUntilHalt(vcpu, "SW_PROTECTED VM, data page shared again");
}
return 0;

static void EnterRealModeAtZero(VcpuFd vcpu)
{
    var sregs = vcpu.GetSregs();
    sregs.cs.@base = 0;
    sregs.cs.selector = 0;
    sregs.ds.@base = 0;
    sregs.ds.selector = 0;
    vcpu.SetSregs(sregs);
    var regs = default(Kvm.Interop.X86_64.kvm_regs);
    regs.rip = 0;
    regs.rflags = 2; // bit 1 is reserved and must be set
    vcpu.SetRegs(regs);
}

static void RunUntilHalt(VcpuFd vcpu, string what)
{
    while (true)
    {
        var exit = vcpu.Run();
        switch (exit.Reason)
        {
            case VcpuExitReason.Io when exit.Io.Direction == IoDirection.Out && exit.Io.Port == Port:
                var b = exit.Io.Data[0];
                Console.WriteLine($"{what}: guest wrote 0x{b:X2} ({(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : "?")}) to port 0x{Port:X}");
                break;
            case VcpuExitReason.Hlt:
                Console.WriteLine($"{what}: guest halted");
                return;
            default:
                throw new InvalidOperationException($"{what}: unexpected exit {exit.ToString()}");
        }
    }
}
