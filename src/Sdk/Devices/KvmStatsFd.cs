using System.Runtime.InteropServices;
using System.Text;
using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// An owned binary stats fd (<c>KVM_GET_STATS_FD</c> on a VM or vCPU; read-only, close-on-exec). Opening reads the
/// header (<c>struct kvm_stats_header</c>), the id string and every descriptor (<c>struct kvm_stats_desc</c> followed
/// by a <c>name_size</c>-byte name) once; <see cref="ReadValues"/> then refreshes all values with one pread(2) of the
/// data block into a caller buffer, allocation-free. The layout is the kernel's own (5.14+), read through the
/// generated structs.
/// </summary>
public sealed unsafe class KvmStatsFd : IDisposable
{
    private readonly SafeHandleRef _fd;
    private readonly IKvmSyscalls _sys;
    private readonly uint _dataOffset;
    private readonly Dictionary<string, KvmStatDescriptor> _byName = new(StringComparer.Ordinal);

    private KvmStatsFd(KvmFdHandle handle, IKvmSyscalls sys)
    {
        _fd = new SafeHandleRef(handle, nameof(KvmStatsFd));
        _sys = sys;
        kvm_stats_header header;
        // SAFETY: `header` is a stack local of the 24-byte kvm_stats_header; PreadExact writes exactly that many bytes.
        PreadExact(&header, (nuint)sizeof(kvm_stats_header), 0, "the stats header");
        if (header.name_size == 0 || header.name_size > 4096 || header.num_desc > 1 << 16)
            throw new InvalidDataException($"implausible KVM stats header: name_size {header.name_size}, num_desc {header.num_desc}");
        var nameSize = (int)header.name_size;

        var id = new byte[nameSize];
        // SAFETY: `id` is pinned and nameSize bytes long; PreadExact writes exactly that many.
        fixed (byte* p = id)
            PreadExact(p, (nuint)nameSize, header.id_offset, "the stats id");
        Id = CString(id);

        var entry = sizeof(kvm_stats_desc) + nameSize;
        var raw = new byte[entry * (int)header.num_desc];
        // SAFETY: `raw` is pinned and holds num_desc descriptors of `entry` bytes; PreadExact writes exactly raw.Length.
        fixed (byte* p = raw)
            PreadExact(p, (nuint)raw.Length, header.desc_offset, "the stats descriptors");
        var list = new KvmStatDescriptor[header.num_desc];
        var values = 0;
        for (var i = 0; i < list.Length; i++)
        {
            var slice = raw.AsSpan(i * entry, entry);
            var d = MemoryMarshal.Read<kvm_stats_desc>(slice);
            if (d.offset % sizeof(ulong) != 0 || d.size == 0)
                throw new InvalidDataException($"implausible KVM stats descriptor {i}: offset {d.offset}, size {d.size}");
            var (type, unit, @base) = KvmStatDescriptor.DecodeFlags(d.flags);
            var desc = new KvmStatDescriptor(CString(slice[sizeof(kvm_stats_desc)..]), type, unit, @base, d.exponent,
                d.size, (int)d.offset, (int)d.bucket_size);
            list[i] = desc;
            _byName.TryAdd(desc.Name, desc);
            values = Math.Max(values, desc.Index + desc.Size);
        }
        Descriptors = list;
        ValueCount = values;
        _dataOffset = header.data_offset;
    }

    internal static KvmStatsFd Open(KvmFdHandle handle, IKvmSyscalls sys)
    {
        try
        {
            return new KvmStatsFd(handle, sys);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The id string of the header: "kvm-&lt;pid&gt;" for a VM, "kvm-&lt;pid&gt;/vcpu-&lt;id&gt;" for a vCPU.</summary>
    public string Id { get; }

    /// <summary>Every statistic, in the kernel's order.</summary>
    public IReadOnlyList<KvmStatDescriptor> Descriptors { get; }

    /// <summary>The number of u64 values in the data block: the buffer length <see cref="ReadValues"/> needs.</summary>
    public int ValueCount { get; }

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => _fd.IsClosed;

    /// <summary>The statistic called <paramref name="name"/>, or null when this kernel has none by that name.</summary>
    public KvmStatDescriptor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Reads every value (one pread(2) of the data block) into <paramref name="values"/>, indexed by
    /// <see cref="KvmStatDescriptor.Index"/>. Allocation-free.</summary>
    /// <exception cref="ArgumentException"><paramref name="values"/> is shorter than <see cref="ValueCount"/>.</exception>
    /// <exception cref="KvmException">pread(2) failed.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void ReadValues(Span<ulong> values)
    {
        if (values.Length < ValueCount)
            Fail.Argument(nameof(values), $"the buffer holds {values.Length} values; this stats fd has {ValueCount} (KvmStatsFd.ValueCount)");
        // SAFETY: `values` is pinned for the call and has room for ValueCount u64s; PreadExact writes exactly that many bytes.
        fixed (ulong* p = values)
            PreadExact(p, (nuint)(ValueCount * sizeof(ulong)), _dataOffset, "the stats values");
    }

    /// <summary>Reads the current (first) value of one statistic. Allocation-free.</summary>
    /// <exception cref="KvmException">pread(2) failed.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public ulong ReadValue(KvmStatDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ulong value;
        // SAFETY: `value` is an 8-byte stack local; PreadExact writes exactly 8 bytes.
        PreadExact(&value, sizeof(ulong), _dataOffset + (uint)descriptor.Offset, descriptor.Name);
        return value;
    }

    private void PreadExact(void* buffer, nuint count, long offset, string what)
    {
        var h = _fd.Enter();
        try
        {
            nuint done = 0;
            while (done < count)
            {
                // SAFETY: `buffer` has `count` writable bytes (each caller's invariant); this reads into the rest of it.
                var rc = _sys.Pread(h.Fd, (byte*)buffer + done, count - done, offset + (long)done);
                if (rc == -(int)Errno.EINTR)
                    continue;
                if (rc < 0)
                    Fail.Syscall(rc, "pread", KvmFdKind.Stats, $"reading {what}");
                if (rc == 0)
                    throw new InvalidDataException($"the stats fd ended before {what} ({done} of {count} bytes at offset {offset})");
                done += (nuint)rc;
            }
        }
        finally
        {
            _fd.Exit();
        }
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        var n = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(n < 0 ? bytes : bytes[..n]);
    }

    /// <summary>Closes the stats fd.</summary>
    public void Dispose() => _fd.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"stats {Id} ({Descriptors.Count} descriptors)";
}
