// A tiny VMM on Kvm.Sdk: one vCPU, memory from a guest_memfd, on x86_64 and on arm64.
//
//   1. open /dev/kvm, create a default VM
//   2. create a guest_memfd that the host may map (MMAP | INIT_SHARED, Linux 6.18+), copy the guest code into it
//   3. register it as the VM's memory at guest-physical 0 (a memslot)
//   4. run the vCPU: the guest sends the byte 'K' to the host and stops
//      x86_64: 16-bit real mode, `out` to port 0x10, then `hlt`
//      arm64:  EL1 with the MMU off, an MMIO write (no port I/O on arm64), then PSCI SYSTEM_OFF
//   5. x86_64, if the kernel has private memory (KVM_X86_SW_PROTECTED_VM): turn a page private and back
//
// Run: dotnet samples/GuestMemfdVmm/bin/Release/net10.0/GuestMemfdVmm.dll
using System.Runtime.InteropServices;
using Kvm;
using Kvm.Interop;

const ulong MemorySize = 64 * 1024;
const ushort Port = 0x10;               // x86: where the guest sends its byte
const ulong MmioAddress = 0x1000_0000;  // arm64: where the guest sends its byte (no memslot there: an MMIO exit)
const ulong DataPage = 0x1000;          // the byte the guest sends lives here

var arch = RuntimeInformation.ProcessArchitecture;
if (!OperatingSystem.IsLinux() || arch is not (Architecture.X64 or Architecture.Arm64))
{
    Console.WriteLine("This sample runs a guest on Linux/KVM for x86_64 or arm64.");
    return 0;
}
byte[] guest = arch == Architecture.X64
    ? [0xBA, 0x10, 0x00, 0xA0, 0x00, 0x10, 0xEE, 0xF4] // mov dx, 0x10 ; mov al, [0x1000] ; out dx, al ; hlt
    : MemoryMarshal.AsBytes<uint>(
    [
        0xD2A20000, // mov  x0, #0x10000000        the MMIO address
        0xD2820001, // mov  x1, #0x1000            the data page
        0x39400022, // ldrb w2, [x1]
        0x39000002, // strb w2, [x0]               MMIO write: exits to the host
        0xD2800100, // mov  x0, #0x8
        0xF2B08000, // movk x0, #0x8400, lsl #16   x0 = PSCI_0_2_FN_SYSTEM_OFF
        0xD4000002, // hvc  #0                     exits as KVM_EXIT_SYSTEM_EVENT (SHUTDOWN)
    ]).ToArray();

using var kvm = KvmSystem.Open();
#pragma warning disable KVM1011 // printed as the /dev/kvm answer; the VM's own answer decides below (vm.GuestMemfd)
Console.WriteLine($"KVM API {kvm.ApiVersion} on {arch}; KVM_CAP_GUEST_MEMFD on /dev/kvm = {kvm.Capabilities.Check(KvmCap.KVM_CAP_GUEST_MEMFD)}");
#pragma warning restore KVM1011

// --- 1..4: a default VM whose memory is a host-mappable guest_memfd -------------------------------------------------
using (var vm = kvm.CreateVm(VmType.Default))
{
    // The feature object is null when the kernel said no: the compiler makes us handle that.
    // (On arm64 a memslot's guest_memfd must be mappable anyway.)
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
    if (arch == Architecture.Arm64)
    {
        vcpu.InitArm64(Kvm.Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PSCI_0_2); // PSCI 0.2 makes SYSTEM_OFF an exit
        vcpu.SetOneReg(Arm64Registers.Pc, 0);
        RunArm64UntilSystemOff(vcpu, "default VM");
        return 0;                            // private memory (step 5) is the x86 SW_PROTECTED VM type
    }
    vcpu.EnterRealMode();
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
    vcpu.EnterRealMode();
    RunUntilHalt(vcpu, "SW_PROTECTED VM, data page private");

    conversion.ToShared(DataPage, 4096);    // back to the host's memory
    Console.WriteLine($"page 0x{DataPage:X} is {conversion.GetState(DataPage)}");
    vcpu.EnterRealMode();
    RunUntilHalt(vcpu, "SW_PROTECTED VM, data page shared again");
}
return 0;

static void RunArm64UntilSystemOff(VcpuFd vcpu, string what)
{
    while (true)
    {
        var exit = vcpu.Run();
        switch (exit.Reason)
        {
            case VcpuExitReason.Mmio when exit.Mmio.IsWrite && exit.Mmio.PhysicalAddress == MmioAddress:
                Report(what, exit.Mmio.Data[0], $"MMIO 0x{MmioAddress:X}");
                break;
            case VcpuExitReason.SystemEvent when exit.SystemEvent.Type == KvmSystemEvent.KVM_SYSTEM_EVENT_SHUTDOWN:
                Console.WriteLine($"{what}: guest called PSCI SYSTEM_OFF");
                return;
            default:
                throw new InvalidOperationException($"{what}: unexpected exit {exit.ToString()}");
        }
    }
}

static void Report(string what, byte b, string channel) =>
    Console.WriteLine($"{what}: guest wrote 0x{b:X2} ({(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : "?")}) to {channel}");

static void RunUntilHalt(VcpuFd vcpu, string what)
{
    while (true)
    {
        var exit = vcpu.Run();
        switch (exit.Reason)
        {
            case VcpuExitReason.Io when exit.Io.Direction == IoDirection.Out && exit.Io.Port == Port:
                Report(what, exit.Io.Data[0], $"port 0x{Port:X}");
                break;
            case VcpuExitReason.Hlt:
                Console.WriteLine($"{what}: guest halted");
                return;
            default:
                throw new InvalidOperationException($"{what}: unexpected exit {exit.ToString()}");
        }
    }
}
