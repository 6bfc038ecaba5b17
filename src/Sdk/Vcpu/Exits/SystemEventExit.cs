using Kvm.Interop;

namespace Kvm;

/// <summary>A <c>KVM_EXIT_SYSTEM_EVENT</c> (<c>kvm_run.system_event</c>): the guest asked for shutdown, reset, crash
/// handling, a wakeup, a suspend, or an SEV/TDX termination (<see cref="Type"/>, named by <see cref="KvmSystemEvent"/>).
/// All <see cref="DataCount"/> words of <c>data[]</c> are copied (<see cref="Data"/>); before
/// <c>KVM_CAP_SYSTEM_EVENT_DATA</c> kernels filled only <c>flags</c>, which shares <c>data[0]</c>.</summary>
/// <param name="Type">The event (<c>KVM_SYSTEM_EVENT_*</c>).</param>
/// <param name="DataCount"><c>ndata</c>: how many words of <c>data[]</c> the kernel filled (0..16).</param>
/// <param name="Data0">data[0] (<c>flags</c> on older kernels; on arm64 PSCI events, the PSCI function's flags,
/// e.g. <c>KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2</c>).</param>
/// <param name="Data1">data[1].</param>
public readonly record struct SystemEventExit(KvmSystemEvent Type, uint DataCount, ulong Data0, ulong Data1)
{
    private readonly ExitWords16 _data;

    internal SystemEventExit(in kvm_run_system_event se)
        : this((KvmSystemEvent)se.type, se.ndata, se.data[0], se.data[1])
    {
        ((ReadOnlySpan<ulong>)se.data).CopyTo(_data);
    }

    /// <summary><c>flags</c>: the same word as <c>data[0]</c> (the field older kernels fill).</summary>
    public ulong Flags => Data0;

    /// <summary>data[<paramref name="index"/>], 0 ≤ index &lt; min(<see cref="DataCount"/>, 16).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside the words the kernel filled.</exception>
    public ulong Data(int index) => (uint)index < Math.Min(DataCount, 16u)
        ? _data[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"the system event carries {DataCount} data words");

    /// <inheritdoc />
    public override string ToString() =>
        $"{Type} ndata {DataCount}" + (DataCount == 0 ? "" : " data [" + _data.Format(DataCount) + "]");

    /// <summary>Value equality, over every data word.</summary>
    public bool Equals(SystemEventExit other) =>
        Type == other.Type && DataCount == other.DataCount && Data0 == other.Data0 && Data1 == other.Data1
        && ((ReadOnlySpan<ulong>)_data).SequenceEqual((ReadOnlySpan<ulong>)other._data);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Type, DataCount, Data0, Data1);
}
