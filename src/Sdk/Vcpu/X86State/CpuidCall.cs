using Kvm.Interop.X86_64;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>The <c>struct kvm_cpuid2</c> ioctls (a header followed by <c>nent</c> entries).</summary>
internal static unsafe class CpuidCall
{
    private static bool IsAllZero(in kvm_cpuid_entry2 e) =>
        e.function == 0 && e.index == 0 && e.flags == 0 && e.eax == 0 && e.ebx == 0 && e.ecx == 0 && e.edx == 0;

    /// <summary>KVM_GET_SUPPORTED_CPUID / KVM_GET_EMULATED_CPUID / KVM_GET_CPUID2: asks with room for
    /// <paramref name="initial"/> entries and doubles on E2BIG (the kernel answers E2BIG when the table does not fit).</summary>
    public static CpuidTable Get(SafeHandleRef fd, IKvmSyscalls sys, nuint request, string name, KvmFdKind kind, int initial)
    {
        for (var room = initial; ; room *= 2)
        {
            var buffer = new ulong[(sizeof(kvm_cpuid2) + room * sizeof(kvm_cpuid_entry2) + 7) / 8];
            int rc;
            fixed (ulong* p = buffer)
            {
                ((kvm_cpuid2*)p)->nent = (uint)room;
                var h = fd.Enter();
                try
                {
                    // SAFETY: `buffer` is pinned and holds the header plus `room` entries; nent = room bounds the kernel's writes.
                    rc = sys.Ioctl(h.Fd, request, p);
                }
                finally
                {
                    fd.Exit();
                }
                if (rc >= 0)
                {
                    ref var header = ref *(kvm_cpuid2*)p;
                    var n = (int)Math.Min(header.nent, (uint)room);
                    var entries = kvm_cpuid2.entries(ref header, n);
                    // Older kernels (6.1's KVM_GET_CPUID2) leave nent as we passed it on success: the entries past the
                    // real ones are the zeros we allocated. No real entry is all zero (leaf 0 reports its maximum).
                    while (n > 0 && IsAllZero(entries[n - 1]))
                        n--;
                    return new CpuidTable(entries[..n]);
                }
            }
            if (rc != -(int)Interop.Errno.E2BIG || room >= 16 * CpuidTable.MaxEntries)
                Fail.Ioctl(rc, name, request, kind, rc == -(int)Interop.Errno.E2BIG ? $"still E2BIG with room for {room} entries" : null);
        }
    }
}
