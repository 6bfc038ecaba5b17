using A = Kvm.Interop.Arm64.ArchConstants;

namespace Kvm;

/// <summary>
/// The in-kernel GICv3 of an arm64 VM (<c>KVM_DEV_TYPE_ARM_VGIC_V3</c> through <c>KVM_CREATE_DEVICE</c>), typed over
/// its <see cref="DeviceFd"/>: the distributor and redistributor addresses (<c>KVM_DEV_ARM_VGIC_GRP_ADDR</c>), the
/// number of interrupt lines (<c>KVM_DEV_ARM_VGIC_GRP_NR_IRQS</c>) and <c>KVM_DEV_ARM_VGIC_CTRL_INIT</c>. The order
/// the kernel wants: create the device, set the addresses and line count, create every vCPU, then
/// <see cref="Initialize"/> (or let the first KVM_RUN initialise it). Rules the kernel answers with EINVAL/EBUSY are
/// checked first.
/// </summary>
public sealed class VGicV3 : IDisposable
{
    /// <summary>The distributor's size (<c>KVM_VGIC_V3_DIST_SIZE</c>, 64 KiB).</summary>
    public const ulong DistributorSize = 0x10000;

    /// <summary>One vCPU's redistributor frames (<c>KVM_VGIC_V3_REDIST_SIZE</c>, 2 × 64 KiB).</summary>
    public const ulong RedistributorSizePerVcpu = 0x20000;

    private const ulong Alignment = 0x10000;
    private bool _initialized;

    private VGicV3(DeviceFd device) => Device = device;

    /// <summary>The device fd, for attributes not typed here (e.g. <c>KVM_DEV_ARM_VGIC_GRP_DIST_REGS</c>).</summary>
    public DeviceFd Device { get; }

    /// <summary>The distributor's guest-physical base, once set.</summary>
    public ulong? DistributorBase { get; private set; }

    /// <summary>The redistributor region's guest-physical base, once set (vCPU n's frames at base + n × 128 KiB).</summary>
    public ulong? RedistributorBase { get; private set; }

    /// <summary>The number of interrupt lines once set (SGIs + PPIs + SPIs), else null (the kernel's default).</summary>
    public int? IrqCount { get; private set; }

    /// <summary><c>KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V3)</c> on <paramref name="vm"/>.</summary>
    /// <exception cref="NotSupportedException">The VM has no device control (<c>KVM_CAP_DEVICE_CTRL</c> = 0).</exception>
    /// <exception cref="KvmException">ENODEV: no GICv3 emulation on this host (e.g. an x86 kernel, or a GICv2-only
    /// host); EEXIST: the VM already has a vGIC; EBUSY: a vCPU of the VM already ran.</exception>
    public static VGicV3 Create(VmFd vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var devices = vm.Devices ?? throw new NotSupportedException("creating a vGICv3 needs KVM_CAP_DEVICE_CTRL, which this VM reports as 0");
        return new VGicV3(devices.Create(KvmDeviceType.ArmVgicV3));
    }

    /// <summary><c>KVM_DEV_ARM_VGIC_GRP_ADDR / KVM_VGIC_V3_ADDR_TYPE_DIST</c>: where the 64 KiB distributor sits.</summary>
    /// <exception cref="ArgumentException">Not 64 KiB aligned (EINVAL), or already set (EEXIST).</exception>
    /// <exception cref="KvmException">E2BIG: beyond the VM's IPA size; EBUSY after initialisation.</exception>
    public void SetDistributorBase(ulong gpa)
    {
        RequireAddress(gpa, DistributorBase, "distributor");
        Device.SetAttribute(A.KVM_DEV_ARM_VGIC_GRP_ADDR, A.KVM_VGIC_V3_ADDR_TYPE_DIST, gpa);
        DistributorBase = gpa;
    }

    /// <summary><c>KVM_DEV_ARM_VGIC_GRP_ADDR / KVM_VGIC_V3_ADDR_TYPE_REDIST</c>: where the redistributor region
    /// starts (it grows with the vCPUs: <see cref="RedistributorSizePerVcpu"/> each).</summary>
    /// <exception cref="ArgumentException">Not 64 KiB aligned (EINVAL), or already set (EEXIST).</exception>
    /// <exception cref="KvmException">E2BIG: beyond the VM's IPA size; EBUSY after initialisation.</exception>
    public void SetRedistributorBase(ulong gpa)
    {
        RequireAddress(gpa, RedistributorBase, "redistributor");
        Device.SetAttribute(A.KVM_DEV_ARM_VGIC_GRP_ADDR, A.KVM_VGIC_V3_ADDR_TYPE_REDIST, gpa);
        RedistributorBase = gpa;
    }

    /// <summary><c>KVM_DEV_ARM_VGIC_GRP_NR_IRQS</c>: the number of interrupt lines, the 32 private ones (SGIs, PPIs)
    /// included: 64..1024, a multiple of 32. Before <see cref="Initialize"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 64..1024 or not a multiple of 32 (EINVAL).</exception>
    /// <exception cref="InvalidOperationException">Already initialised, or already set (EBUSY).</exception>
    /// <exception cref="KvmException">Any other refusal.</exception>
    public void SetIrqCount(int count)
    {
        if (count is < 64 or > 1024 || count % 32 != 0)
            Fail.Range(nameof(count), count, "a vGIC has 64..1024 interrupt lines (32 private ones included), a multiple of 32");
        if (_initialized || IrqCount is not null)
            throw new InvalidOperationException("the vGIC's line count is set once, before KVM_DEV_ARM_VGIC_CTRL_INIT (EBUSY otherwise)");
        Device.SetAttribute(A.KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, (uint)count);
        IrqCount = count;
    }

    /// <summary><c>KVM_DEV_ARM_VGIC_GRP_NR_IRQS</c> read back: the line count in force.</summary>
    /// <exception cref="KvmException">Any refusal.</exception>
    public int ReadIrqCount() => (int)Device.GetAttribute<uint>(A.KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0);

    /// <summary><c>KVM_DEV_ARM_VGIC_GRP_CTRL / KVM_DEV_ARM_VGIC_CTRL_INIT</c>: initialises the vGIC for the vCPUs that
    /// exist now (create them all first: a vCPU created afterwards is refused with EBUSY).</summary>
    /// <exception cref="InvalidOperationException">The distributor or redistributor base is not set (the kernel
    /// answers ENXIO).</exception>
    /// <exception cref="KvmException">ENXIO: not configured; EBUSY: a vCPU is running; ENODEV: no vCPU exists.</exception>
    public void Initialize()
    {
        if (DistributorBase is null || RedistributorBase is null)
            throw new InvalidOperationException("set the distributor and redistributor bases before KVM_DEV_ARM_VGIC_CTRL_INIT (ENXIO otherwise)");
        Device.SetAttribute(A.KVM_DEV_ARM_VGIC_GRP_CTRL, A.KVM_DEV_ARM_VGIC_CTRL_INIT);
        _initialized = true;
    }

    /// <summary>True after <see cref="Initialize"/>.</summary>
    public bool IsInitialized => _initialized;

    /// <summary>Reads a 32-bit distributor register (<c>KVM_DEV_ARM_VGIC_GRP_DIST_REGS</c>, attribute = byte offset),
    /// e.g. <c>GICD_ISPENDR&lt;n&gt;</c> at 0x200 + 4n to see which SPIs are pending. Needs an initialised vGIC
    /// and no vCPU running.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> is not a 4-byte aligned offset below 64 KiB.</exception>
    /// <exception cref="KvmException">EBUSY: a vCPU is running; ENXIO: no such register or not initialised.</exception>
    public uint ReadDistributorRegister(uint offset)
    {
        RequireDistOffset(offset);
        return Device.GetAttribute<uint>(A.KVM_DEV_ARM_VGIC_GRP_DIST_REGS, offset);
    }

    /// <summary>Writes a 32-bit distributor register (<c>KVM_DEV_ARM_VGIC_GRP_DIST_REGS</c>), e.g. <c>GICD_ICFGR</c>.</summary>
    /// <inheritdoc cref="ReadDistributorRegister" path="/exception"/>
    public void WriteDistributorRegister(uint offset, uint value)
    {
        RequireDistOffset(offset);
        Device.SetAttribute(A.KVM_DEV_ARM_VGIC_GRP_DIST_REGS, offset, value);
    }

    /// <summary>The line levels of 32 interrupts from <paramref name="firstIntid"/> (a multiple of 32), bit n for
    /// INTID first + n: <c>KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO</c> with <c>VGIC_LEVEL_INFO_LINE_LEVEL</c>. For a
    /// level-sensitive interrupt this is where userspace sees the line <c>KVM_IRQ_LINE</c> drove: a userspace read of
    /// <c>GICD_ISPENDR</c> shows only the latched (edge or software) pending state.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstIntid"/> is not a multiple of 32 in 32..1023.</exception>
    /// <exception cref="KvmException">EBUSY: a vCPU is running; ENXIO/EINVAL: not initialised, or beyond the line count.</exception>
    public uint ReadLineLevels(int firstIntid)
    {
        if (firstIntid is < 32 or > 1023 || firstIntid % 32 != 0)
            Fail.Range(nameof(firstIntid), firstIntid, "line levels are read 32 at a time from an SPI INTID that is a multiple of 32 (the mask KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK keeps 10 bits)");
        var attr = ((ulong)A.VGIC_LEVEL_INFO_LINE_LEVEL << A.KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT) | (uint)firstIntid;
        return Device.GetAttribute<uint>(A.KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, attr);
    }

    private static void RequireDistOffset(uint offset)
    {
        if (offset % 4 != 0 || offset >= DistributorSize)
            Fail.Range(nameof(offset), offset, "a distributor register offset is 4-byte aligned and below 64 KiB");
    }

    private static void RequireAddress(ulong gpa, ulong? current, string what)
    {
        if (gpa % Alignment != 0)
            Fail.Argument(nameof(gpa), $"the vGICv3 {what} base must be 64 KiB aligned (got 0x{gpa:x}; the kernel answers EINVAL)");
        if (current is { } c)
            Fail.Argument(nameof(gpa), $"the vGICv3 {what} base is already 0x{c:x} (set once; the kernel answers EEXIST)");
    }

    /// <summary>Closes the device fd (the vGIC itself lives as long as the VM).</summary>
    public void Dispose() => Device.Dispose();
}
