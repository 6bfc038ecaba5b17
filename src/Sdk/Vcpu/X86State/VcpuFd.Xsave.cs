using Kvm.Interop;
using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    private int _xsaveSize; // 0 until asked

    /// <summary>x86: the size in bytes of this vCPU's XSAVE image: <c>KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)</c> on the VM
    /// (at least 4096; more with dynamically enabled state such as AMX tiles), or 4096, <c>sizeof(struct kvm_xsave)</c>,
    /// on kernels without <c>KVM_CAP_XSAVE2</c>. Buffers for <see cref="GetXsave2(Span{byte})"/> and
    /// <see cref="SetXsave(ReadOnlySpan{byte})"/> must be at least this long.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    public int XsaveSize
    {
        get
        {
            RequireX86();
            if (_xsaveSize == 0)
            {
                // The answer only grows (arch_prctl(ARCH_REQ_XCOMP_GUEST_PERM) cannot be undone) and the kernel copies
                // the vCPU's own size, fixed at creation, which is never more than this: a buffer this long is enough.
                var size = HasX86Cap(X86Cap.Xsave2) ? Vm.Capabilities.Check(KvmCap.KVM_CAP_XSAVE2) : 0;
                _xsaveSize = Math.Max(size, sizeof(kvm_xsave));
            }
            return _xsaveSize;
        }
    }

    /// <summary>x86: <c>KVM_GET_XSAVE</c> into the fixed 4096-byte <c>struct kvm_xsave</c>. Needs <c>KVM_CAP_XSAVE</c>;
    /// refused before the ioctl when the state is larger (<see cref="XsaveSize"/> &gt; 4096: the kernel answers
    /// EINVAL) — use <see cref="GetXsave2(Span{byte})"/> then.</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_XSAVE</c>.</exception>
    /// <exception cref="InvalidOperationException">The XSAVE state does not fit 4096 bytes.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public kvm_xsave GetXsave()
    {
        RequireX86Cap(X86Cap.Xsave, ArchIoctls.KVM_GET_XSAVE.Name);
        RequireLegacyXsaveFits(ArchIoctls.KVM_GET_XSAVE.Name);
        kvm_xsave xsave;
        // SAFETY: `xsave` is a 4096-byte stack local; the kernel writes at most that (it refuses larger state).
        IoctlOut(ArchIoctls.KVM_GET_XSAVE.Value, ArchIoctls.KVM_GET_XSAVE.Name, &xsave);
        return xsave;
    }

    /// <summary>x86: <c>KVM_GET_XSAVE2</c> (<c>KVM_CAP_XSAVE2</c>): the whole XSAVE image, <see cref="XsaveSize"/>
    /// bytes, into <paramref name="destination"/>.</summary>
    /// <returns>The bytes written (<see cref="XsaveSize"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="XsaveSize"/>.</exception>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_XSAVE2</c> (kernels before 5.17): use <see cref="GetXsave"/>.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public int GetXsave2(Span<byte> destination)
    {
        RequireX86Cap(X86Cap.Xsave2, ArchIoctls.KVM_GET_XSAVE2.Name);
        var size = XsaveSize;
        if (destination.Length < size)
            Fail.Argument(nameof(destination), $"the XSAVE buffer must hold XsaveSize = {size} bytes (KVM_CAP_XSAVE2); it has {destination.Length}");
        // SAFETY: the span is pinned and at least XsaveSize bytes, which bounds what the kernel writes (see XsaveSize).
        fixed (byte* p = destination)
            IoctlOut(ArchIoctls.KVM_GET_XSAVE2.Value, ArchIoctls.KVM_GET_XSAVE2.Name, p);
        return size;
    }

    /// <summary>x86: <see cref="GetXsave2(Span{byte})"/> into a new array of <see cref="XsaveSize"/> bytes.</summary>
    public byte[] GetXsave2()
    {
        RequireX86Cap(X86Cap.Xsave2, ArchIoctls.KVM_GET_XSAVE2.Name);
        var buffer = new byte[XsaveSize];
        GetXsave2(buffer);
        return buffer;
    }

    /// <summary>x86: <c>KVM_SET_XSAVE</c> from the fixed 4096-byte struct. Needs <c>KVM_CAP_XSAVE</c>. The kernel reads
    /// the vCPU's whole XSAVE size, so this is refused when <see cref="XsaveSize"/> &gt; 4096 (it would read past the
    /// struct): use <see cref="SetXsave(ReadOnlySpan{byte})"/>.</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_XSAVE</c>.</exception>
    /// <exception cref="InvalidOperationException">The XSAVE state is larger than 4096 bytes.</exception>
    /// <exception cref="KvmException">The ioctl failed (EINVAL: reserved XSTATE_BV/XCOMP_BV bits, features the guest's
    /// CPUID lacks).</exception>
    public void SetXsave(in kvm_xsave xsave)
    {
        RequireX86Cap(X86Cap.Xsave, ArchIoctls.KVM_SET_XSAVE.Name);
        RequireLegacyXsaveFits(ArchIoctls.KVM_SET_XSAVE.Name);
        // SAFETY: `xsave` is pinned; the kernel reads the vCPU's XSAVE size, checked above to be at most its 4096 bytes.
        fixed (kvm_xsave* p = &xsave)
            IoctlOut(ArchIoctls.KVM_SET_XSAVE.Value, ArchIoctls.KVM_SET_XSAVE.Name, p);
    }

    /// <summary>x86: <c>KVM_SET_XSAVE</c> from an image of at least <see cref="XsaveSize"/> bytes (as
    /// <see cref="GetXsave2(Span{byte})"/> returns). Needs <c>KVM_CAP_XSAVE</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="state"/> is shorter than <see cref="XsaveSize"/> (the kernel
    /// would read past it).</exception>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_XSAVE</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed (EINVAL: reserved header bits, features the guest's CPUID lacks).</exception>
    public void SetXsave(ReadOnlySpan<byte> state)
    {
        RequireX86Cap(X86Cap.Xsave, ArchIoctls.KVM_SET_XSAVE.Name);
        var size = XsaveSize;
        if (state.Length < size)
            Fail.Argument(nameof(state), $"the XSAVE image must be XsaveSize = {size} bytes (the kernel reads that many); it has {state.Length}");
        // SAFETY: the span is pinned and at least XsaveSize bytes, which bounds what the kernel reads.
        fixed (byte* p = state)
            IoctlOut(ArchIoctls.KVM_SET_XSAVE.Value, ArchIoctls.KVM_SET_XSAVE.Name, p);
    }

    private void RequireLegacyXsaveFits(string ioctl)
    {
        if (XsaveSize > sizeof(kvm_xsave))
            throw new InvalidOperationException($"{ioctl} moves {sizeof(kvm_xsave)} bytes, but this vCPU's XSAVE state is {XsaveSize} "
                + "(KVM_CAP_XSAVE2): use GetXsave2/SetXsave(ReadOnlySpan<byte>)");
    }
}
