namespace Kvm;

/// <summary>A port I/O exit kept in a <see cref="VcpuExitSnapshot"/>.</summary>
/// <param name="Direction">In or out.</param>
/// <param name="Size">Bytes per access (1, 2 or 4).</param>
/// <param name="Port">The port.</param>
/// <param name="Count">Repetitions (string I/O).</param>
/// <param name="Data">The data bytes at the exit (for an IN: what kvm_run held before the VMM filled it).</param>
public readonly record struct IoSnapshot(IoDirection Direction, byte Size, ushort Port, uint Count, ExitBytes Data)
{
    /// <inheritdoc />
    public override string ToString() => $"{Direction} port 0x{Port:X} size {Size} count {Count} data [{Data}]";
}

/// <summary>An MMIO exit kept in a <see cref="VcpuExitSnapshot"/>.</summary>
/// <param name="PhysicalAddress">The guest-physical address.</param>
/// <param name="IsWrite">True for a guest write.</param>
/// <param name="Data">The written bytes (for a read: what kvm_run held before the VMM filled it).</param>
public readonly record struct MmioSnapshot(ulong PhysicalAddress, bool IsWrite, ExitBytes Data)
{
    /// <inheritdoc />
    public override string ToString() => $"{(IsWrite ? "write" : "read")} 0x{PhysicalAddress:X} len {Data.TotalLength} data [{Data}]";
}

/// <summary>A <c>KVM_EXIT_HYPERCALL</c> kept in a <see cref="VcpuExitSnapshot"/>.</summary>
/// <param name="Nr">The hypercall number.</param>
/// <param name="Flags"><c>flags</c> (x86 <c>KVM_EXIT_HYPERCALL_LONG_MODE</c>).</param>
/// <param name="Arg0">args[0].</param>
/// <param name="Arg1">args[1].</param>
/// <param name="Arg2">args[2].</param>
/// <param name="Arg3">args[3].</param>
/// <param name="Arg4">args[4].</param>
/// <param name="Arg5">args[5].</param>
public readonly record struct HypercallSnapshot(ulong Nr, ulong Flags, ulong Arg0, ulong Arg1, ulong Arg2, ulong Arg3, ulong Arg4, ulong Arg5)
{
    /// <inheritdoc />
    public override string ToString() => $"nr {Nr} args [0x{Arg0:X}, 0x{Arg1:X}, 0x{Arg2:X}, 0x{Arg3:X}, 0x{Arg4:X}, 0x{Arg5:X}] flags 0x{Flags:X}";
}

/// <summary>A <c>KVM_EXIT_X86_RDMSR</c>/<c>KVM_EXIT_X86_WRMSR</c> kept in a <see cref="VcpuExitSnapshot"/>.</summary>
/// <param name="IsWrite">True for WRMSR.</param>
/// <param name="Reason">Why the access left the kernel.</param>
/// <param name="Index">The MSR index.</param>
/// <param name="Data">For WRMSR the value written; for RDMSR kvm_run's data at the exit.</param>
public readonly record struct MsrSnapshot(bool IsWrite, MsrExitReasons Reason, uint Index, ulong Data)
{
    /// <inheritdoc />
    public override string ToString() => IsWrite
        ? $"wrmsr 0x{Index:X} = 0x{Data:X} ({Reason})"
        : $"rdmsr 0x{Index:X} ({Reason})";
}
