using Kvm.Interop.X86_64;
using Kvm.Syscalls;

namespace Kvm;

/// <summary><c>KVM_GET_MSRS</c>/<c>KVM_SET_MSRS</c> over any number of entries, in batches through one stack buffer
/// (<c>struct kvm_msrs</c> header + entries), stopping where the kernel stopped.</summary>
internal static unsafe class MsrBatch
{
    // The kernel answers E2BIG for nmsrs >= MAX_IO_MSRS (256); 64 keeps the stack buffer at ~1 KiB.
    public const int Size = 64;

    /// <summary>Runs the request over <paramref name="input"/>; for reads, copies the values into
    /// <paramref name="output"/> (same length). Returns how many entries the kernel processed.</summary>
    public static int Run(SafeHandleRef fd, IKvmSyscalls sys, nuint request, string name, KvmFdKind kind,
        ReadOnlySpan<kvm_msr_entry> input, Span<kvm_msr_entry> output)
    {
        var words = (sizeof(kvm_msrs) + Size * sizeof(kvm_msr_entry)) / sizeof(ulong);
        var buffer = stackalloc ulong[words];
        ref var header = ref *(kvm_msrs*)buffer;
        var done = 0;
        while (done < input.Length)
        {
            var n = Math.Min(Size, input.Length - done);
            header.nmsrs = (uint)n;
            header.pad = 0;
            var batch = kvm_msrs.entries(ref header, n);
            input.Slice(done, n).CopyTo(batch);
            int rc;
            var h = fd.Enter();
            try
            {
                // SAFETY: `buffer` is 8-byte aligned stack memory holding a kvm_msrs header and Size entries; nmsrs = n
                // <= Size bounds what the kernel reads and writes.
                rc = sys.Ioctl(h.Fd, request, buffer);
            }
            finally
            {
                fd.Exit();
            }
            if (rc < 0)
                Fail.Ioctl(rc, name, request, kind, $"batch of {n} MSRs starting with 0x{input[done].index:X} (entry {done})");
            rc = Math.Min(rc, n);
            if (!output.IsEmpty)
                batch[..rc].CopyTo(output[done..]);
            done += rc;
            if (rc < n)
                break;
        }
        return done;
    }
}
