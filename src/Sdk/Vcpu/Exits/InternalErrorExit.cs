using Kvm.Interop;

namespace Kvm;

/// <summary><c>KVM_INTERNAL_ERROR_*</c>: why KVM gave up on the guest (<c>kvm_run.internal.suberror</c>).</summary>
public enum InternalErrorKind : uint
{
    /// <summary>Not one of the suberrors below.</summary>
    Unknown = 0,
    /// <summary><c>KVM_INTERNAL_ERROR_EMULATION</c>: the instruction emulator could not emulate the instruction
    /// (with <c>KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES</c>, its bytes follow).</summary>
    Emulation = KvmConstants.KVM_INTERNAL_ERROR_EMULATION,
    /// <summary><c>KVM_INTERNAL_ERROR_SIMUL_EX</c>: an exception while delivering another (simultaneous exceptions).</summary>
    SimultaneousException = KvmConstants.KVM_INTERNAL_ERROR_SIMUL_EX,
    /// <summary><c>KVM_INTERNAL_ERROR_DELIVERY_EV</c>: an event could not be delivered (e.g. a fault on the IDT/stack).</summary>
    DeliveryEvent = KvmConstants.KVM_INTERNAL_ERROR_DELIVERY_EV,
    /// <summary><c>KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON</c>: a hardware exit reason KVM does not handle.</summary>
    UnexpectedExitReason = KvmConstants.KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
}

/// <summary>A <c>KVM_EXIT_INTERNAL_ERROR</c> (<c>kvm_run.internal</c>) with all <see cref="DataCount"/> words of
/// <c>data[]</c> copied (<see cref="Data"/>; <c>KVM_CAP_INTERNAL_ERROR_DATA</c>). For
/// <see cref="InternalErrorKind.Emulation"/> with <c>KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES</c> in
/// data[0], the overlay <c>kvm_run.emulation_failure</c> is decoded: <see cref="InstructionLength"/> and
/// <see cref="CopyInstructionBytes"/>.</summary>
/// <param name="Suberror"><c>KVM_INTERNAL_ERROR_*</c> (named by <see cref="Kind"/>).</param>
/// <param name="DataCount"><c>ndata</c> (0..16).</param>
/// <param name="Data0">data[0] (for emulation failures: the <c>flags</c> of <c>emulation_failure</c>).</param>
/// <param name="Data1">data[1].</param>
public readonly record struct InternalErrorExit(uint Suberror, uint DataCount, ulong Data0, ulong Data1)
{
    private readonly ExitWords16 _data;

    internal InternalErrorExit(in kvm_run_internal ie)
        : this(ie.suberror, ie.ndata, ie.data[0], ie.data[1])
    {
        ((ReadOnlySpan<ulong>)ie.data).CopyTo(_data);
    }

    /// <summary>The suberror by name (<see cref="InternalErrorKind.Unknown"/> for numbers the headers do not define).</summary>
    public InternalErrorKind Kind => Suberror is >= 1 and <= 4 ? (InternalErrorKind)Suberror : InternalErrorKind.Unknown;

    /// <summary>data[<paramref name="index"/>], 0 ≤ index &lt; min(<see cref="DataCount"/>, 16).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside the words the kernel filled.</exception>
    public ulong Data(int index) => (uint)index < Math.Min(DataCount, 16u)
        ? _data[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"the internal error carries {DataCount} data words");

    /// <summary>True for an emulation failure that carries the instruction bytes (data[0] has
    /// <c>KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES</c> and ndata covers flags, size and bytes).</summary>
    public bool HasInstructionBytes => Kind == InternalErrorKind.Emulation && DataCount >= 3
        && (Data0 & KvmConstants.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0;

    /// <summary><c>emulation_failure.insn_size</c> (0..15); 0 without <see cref="HasInstructionBytes"/>.</summary>
    public int InstructionLength => HasInstructionBytes ? Math.Min((int)(byte)_data[1], 15) : 0;

    /// <summary>Copies <c>emulation_failure.insn_bytes</c> (<see cref="InstructionLength"/> bytes) to
    /// <paramref name="destination"/>; returns how many.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public int CopyInstructionBytes(Span<byte> destination)
    {
        var n = InstructionLength;
        if (destination.Length < n)
            Fail.Argument(nameof(destination), $"the instruction has {n} bytes; the destination holds {destination.Length}");
        // insn_size is the byte at offset 16 of the union (data[1]'s low byte); insn_bytes follow it.
        Span<byte> words = stackalloc byte[16];
        BitConverter.TryWriteBytes(words, _data[1]);
        BitConverter.TryWriteBytes(words[8..], _data[2]);
        words.Slice(1, n).CopyTo(destination);
        return n;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var s = $"{Kind} (suberror {Suberror}) ndata {DataCount}";
        if (DataCount > 0)
            s += " data [" + _data.Format(DataCount) + "]";
        if (HasInstructionBytes)
        {
            Span<byte> insn = stackalloc byte[15];
            var n = CopyInstructionBytes(insn);
            s += " insn " + Convert.ToHexString(insn[..n]);
        }
        return s;
    }

    /// <summary>Value equality, over every data word.</summary>
    public bool Equals(InternalErrorExit other) =>
        Suberror == other.Suberror && DataCount == other.DataCount && Data0 == other.Data0 && Data1 == other.Data1
        && ((ReadOnlySpan<ulong>)_data).SequenceEqual((ReadOnlySpan<ulong>)other._data);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Suberror, DataCount, Data0, Data1);
}
