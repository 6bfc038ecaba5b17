using Kvm.Interop;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>The size in bytes a ONE_REG id encodes (<c>KVM_REG_SIZE_MASK</c> bits 55:52: 1 &lt;&lt; field):
    /// 4 for <c>KVM_REG_SIZE_U32</c>, 8 for U64, 16 for U128 (FP/SIMD V registers), up to 256 (SVE Z registers).</summary>
    public static int OneRegSize(ulong id) => 1 << (int)((id & KvmConstants.KVM_REG_SIZE_MASK) >> KvmConstants.KVM_REG_SIZE_SHIFT);

    /// <summary><c>KVM_GET_ONE_REG</c> into <paramref name="value"/>, whose length must be the size the id encodes.</summary>
    /// <exception cref="ArgumentException">The span's length is not <see cref="OneRegSize"/> of the id.</exception>
    /// <exception cref="KvmException">ENOENT: no such register on this vCPU (e.g. SVE registers without SVE); EPERM:
    /// an SVE register before <see cref="FinalizeSve"/>; ENOEXEC: arm64 vCPU not initialised.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void GetOneReg(ulong id, Span<byte> value)
    {
        RequireSize(id, value.Length);
        // SAFETY: `value` is pinned for the call and is exactly the register's size, which is all the kernel writes.
        fixed (byte* p = value)
        {
            var reg = new kvm_one_reg { id = id, addr = (ulong)p };
            IoctlOut(KvmIoctls.KVM_GET_ONE_REG.Value, KvmIoctls.KVM_GET_ONE_REG.Name, &reg);
        }
    }

    /// <summary><c>KVM_SET_ONE_REG</c> from <paramref name="value"/>, whose length must be the size the id encodes.</summary>
    /// <exception cref="ArgumentException">The span's length is not <see cref="OneRegSize"/> of the id.</exception>
    /// <exception cref="KvmException">ENOENT: no such register; EINVAL: a value the register refuses; EBUSY: a
    /// register fixed once the vCPU ran (ID registers, SVE_VLS after finalize).</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void SetOneReg(ulong id, ReadOnlySpan<byte> value)
    {
        RequireSize(id, value.Length);
        // SAFETY: `value` is pinned for the call and is exactly the register's size, which is all the kernel reads.
        fixed (byte* p = value)
        {
            var reg = new kvm_one_reg { id = id, addr = (ulong)p };
            IoctlOut(KvmIoctls.KVM_SET_ONE_REG.Value, KvmIoctls.KVM_SET_ONE_REG.Name, &reg);
        }
    }

    /// <summary><c>KVM_GET_ONE_REG</c> of a 32-bit register (<c>KVM_REG_SIZE_U32</c>, e.g. arm64 FPSR/FPCR).</summary>
    /// <inheritdoc cref="GetOneReg(ulong, Span{byte})" path="/exception"/>
    public uint GetOneReg32(ulong id)
    {
        uint v = 0;
        GetOneReg(id, new Span<byte>(&v, sizeof(uint)));
        return v;
    }

    /// <summary><c>KVM_SET_ONE_REG</c> of a 32-bit register.</summary>
    /// <inheritdoc cref="SetOneReg(ulong, ReadOnlySpan{byte})" path="/exception"/>
    public void SetOneReg32(ulong id, uint value) => SetOneReg(id, new ReadOnlySpan<byte>(&value, sizeof(uint)));

    /// <summary><c>KVM_GET_ONE_REG</c> of a 128-bit register (<c>KVM_REG_SIZE_U128</c>, arm64 V0..V31), in the
    /// host's (little-endian) byte order.</summary>
    /// <inheritdoc cref="GetOneReg(ulong, Span{byte})" path="/exception"/>
    public UInt128 GetOneReg128(ulong id)
    {
        UInt128 v = 0;
        GetOneReg(id, new Span<byte>(&v, sizeof(UInt128)));
        return v;
    }

    /// <summary><c>KVM_SET_ONE_REG</c> of a 128-bit register.</summary>
    /// <inheritdoc cref="SetOneReg(ulong, ReadOnlySpan{byte})" path="/exception"/>
    public void SetOneReg128(ulong id, UInt128 value) => SetOneReg(id, new ReadOnlySpan<byte>(&value, sizeof(UInt128)));

    /// <summary><c>KVM_GET_REG_LIST</c>: every register id this vCPU exposes to ONE_REG (asked twice: once with
    /// <c>n = 0</c>, which the kernel answers E2BIG with the count, then with room for them). arm64 needs
    /// <c>KVM_CAP_ONE_REG</c>, which every arm64 KVM has.</summary>
    /// <exception cref="KvmException">ENOEXEC: arm64 vCPU not initialised; EPERM: an SVE vCPU before
    /// <see cref="FinalizeSve"/>.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public ulong[] GetRegisterList()
    {
        var probe = new kvm_reg_list { n = 0 };
        // SAFETY: `probe` is a stack local with n = 0: the kernel writes only n back (E2BIG) and no ids.
        var rc = VcpuIoctl(KvmIoctls.KVM_GET_REG_LIST.Value, &probe);
        if (rc == 0)
            return [];
        if (rc != -(int)Interop.Errno.E2BIG)
            Fail.Ioctl(rc, KvmIoctls.KVM_GET_REG_LIST.Name, KvmIoctls.KVM_GET_REG_LIST.Value, KvmFdKind.Vcpu, ExplainOneRegList(rc));
        var n = (int)probe.n;
        var buffer = new ulong[n + 1];
        buffer[0] = (ulong)n;
        // SAFETY: `buffer` is pinned; it holds the 8-byte header (n) followed by n ids, exactly what the kernel writes.
        fixed (ulong* p = buffer)
        {
            rc = VcpuIoctl(KvmIoctls.KVM_GET_REG_LIST.Value, p);
            if (rc < 0)
                Fail.Ioctl(rc, KvmIoctls.KVM_GET_REG_LIST.Name, KvmIoctls.KVM_GET_REG_LIST.Value, KvmFdKind.Vcpu, ExplainOneRegList(rc));
        }
        return buffer.AsSpan(1, (int)buffer[0]).ToArray();
    }

    private static string? ExplainOneRegList(int rc) => rc == -(int)Interop.Errno.ENOEXEC
        ? "an arm64 vCPU lists its registers only after KVM_ARM_VCPU_INIT" : null;

    private static void RequireSize(ulong id, int length)
    {
        var size = OneRegSize(id);
        if (size != length)
            Fail.Argument(nameof(id), $"register id 0x{id:X} encodes a {size}-byte register (KVM_REG_SIZE field), the buffer holds {length}");
    }
}
