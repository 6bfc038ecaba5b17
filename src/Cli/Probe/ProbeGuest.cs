using System.Runtime.InteropServices;
using Kvm.Interop;

namespace Kvm.Cli.Probe;

/// <summary>
/// The probe's guest program: it reads the byte at <see cref="DataPage"/>, sends it to the host and stops. Loaded at
/// guest-physical 0. x86 sends through port 0x10 and halts; arm64 sends through an MMIO write and stops with PSCI
/// SYSTEM_OFF, because arm64 has no port I/O.
/// </summary>
internal abstract class ProbeGuest
{
    public const ulong DataPage = 0x1000;

    /// <summary>The machine code, loaded at guest-physical 0.</summary>
    public abstract byte[] Code { get; }

    /// <summary>How the byte reaches the host, for the probe's report.</summary>
    public abstract string Channel { get; }

    /// <summary>Resets <paramref name="vcpu"/> to the program's start, runs it to its stop and returns the byte it sent.</summary>
    /// <exception cref="InvalidOperationException">An unexpected exit, or the guest did not stop.</exception>
    public abstract byte Run(VcpuFd vcpu);

    /// <summary>The program for this process's architecture; null where the probe has none.</summary>
    public static ProbeGuest? ForThisMachine() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => new X86RealMode(),
        Architecture.Arm64 => new Arm64Mmio(),
        _ => null,
    };

    private sealed class X86RealMode : ProbeGuest
    {
        // 16-bit real mode: mov dx, 0x10 ; mov al, [0x1000] ; out dx, al ; hlt
        public override byte[] Code { get; } = [0xBA, 0x10, 0x00, 0xA0, 0x00, 0x10, 0xEE, 0xF4];

        public override string Channel => "port 0x10";

        public override byte Run(VcpuFd vcpu)
        {
            vcpu.EnterRealMode();
            byte got = 0xFF;
            for (int i = 0; i < 16; i++)
            {
                var exit = vcpu.Run();
                if (exit.Reason == VcpuExitReason.Io) { got = exit.Io.Data[0]; continue; }
                if (exit.Reason == VcpuExitReason.Hlt) return got;
                throw new InvalidOperationException($"unexpected exit {exit.ToString()}");
            }
            throw new InvalidOperationException("the guest did not halt");
        }
    }

    private sealed class Arm64Mmio : ProbeGuest
    {
        private const ulong MmioAddress = 0x1000_0000; // no memslot there, so the write exits to the host

        // EL1, MMU off (as after KVM_ARM_VCPU_INIT). Words from GNU as:
        public override byte[] Code { get; } = MemoryMarshal.AsBytes<uint>(
        [
            0xD2A20000, // mov  x0, #0x10000000
            0xD2820001, // mov  x1, #0x1000
            0x39400022, // ldrb w2, [x1]
            0x39000002, // strb w2, [x0]          MMIO write, 1 byte
            0xD2800100, // mov  x0, #0x8
            0xF2B08000, // movk x0, #0x8400, lsl #16   PSCI_0_2_FN_SYSTEM_OFF
            0xD4000002, // hvc  #0
            0x14000000, // b    .
        ]).ToArray();

        public override string Channel => $"MMIO 0x{MmioAddress:X}";

        public override byte Run(VcpuFd vcpu)
        {
            // A second KVM_ARM_VCPU_INIT resets the vCPU, which also brings it back from SYSTEM_OFF.
            vcpu.InitArm64(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PSCI_0_2);
            vcpu.SetOneReg(Arm64Registers.Pc, 0);
            byte got = 0xFF;
            for (int i = 0; i < 16; i++)
            {
                var exit = vcpu.Run();
                if (exit.Reason == VcpuExitReason.Mmio && exit.Mmio.IsWrite && exit.Mmio.PhysicalAddress == MmioAddress)
                {
                    got = exit.Mmio.Data[0];
                    continue;
                }
                if (exit.Reason == VcpuExitReason.SystemEvent && exit.SystemEvent.Type == KvmSystemEvent.KVM_SYSTEM_EVENT_SHUTDOWN)
                    return got;
                throw new InvalidOperationException($"unexpected exit {exit.ToString()}");
            }
            throw new InvalidOperationException("the guest did not reach PSCI SYSTEM_OFF");
        }
    }
}
