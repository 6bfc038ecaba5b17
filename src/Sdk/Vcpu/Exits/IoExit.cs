using Kvm.Interop;

namespace Kvm;

/// <summary>Direction of a port I/O exit.</summary>
public enum IoDirection : byte
{
    /// <summary><c>KVM_EXIT_IO_IN</c>: the guest reads; fill <see cref="IoExit.Data"/>.</summary>
    In = 0,
    /// <summary><c>KVM_EXIT_IO_OUT</c>: the guest wrote <see cref="IoExit.Data"/>.</summary>
    Out = 1,
}

/// <summary>A port I/O exit. <see cref="Data"/> is the <c>size * count</c> bytes at <c>data_offset</c> in kvm_run.</summary>
public readonly unsafe ref struct IoExit
{
    internal IoExit(in kvm_run_io io, byte* run, int runSize)
    {
        Direction = (IoDirection)io.direction;
        Size = io.size;
        Port = io.port;
        Count = io.count;
        var len = (ulong)io.size * io.count;
        if (io.data_offset > (ulong)runSize || len > (ulong)runSize - io.data_offset)
            throw new InvalidOperationException($"kvm_run.io data [{io.data_offset}, +{len}) is outside the {runSize}-byte mapping");
        // SAFETY: the range was just checked to lie inside the kvm_run mapping, whose address stays this vCPU's for the
        // life of the process (retired to zero pages, never unmapped), so the span can never reach other memory.
        Data = new Span<byte>(run + io.data_offset, (int)len);
    }

    /// <summary>In or out.</summary>
    public IoDirection Direction { get; }

    /// <summary>Bytes per access (1, 2 or 4).</summary>
    public byte Size { get; }

    /// <summary>The port.</summary>
    public ushort Port { get; }

    /// <summary>Repetitions (string I/O).</summary>
    public uint Count { get; }

    /// <summary>The bytes written by the guest (out) or to be supplied to it (in).</summary>
    public Span<byte> Data { get; }
}
