using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    internal EventFdRegistry EventFds { get; } = new();

    /// <summary>The in-kernel interrupt controller (x86: PIC, IOAPIC and LAPICs; PIT; IRQ lines, GSI routing, MSI);
    /// null unless <c>KVM_CHECK_EXTENSION(KVM_CAP_IRQCHIP)</c> on this VM is non-zero.</summary>
    public IrqchipFeature? Irqchip { get; private set; }

    /// <summary>irqfd: eventfds that inject an interrupt on a GSI when signalled; null unless <c>KVM_CAP_IRQFD</c>.</summary>
    public IrqFdFeature? IrqFds { get; private set; }

    /// <summary>ioeventfd: guest port or MMIO writes that signal an eventfd instead of exiting; null unless
    /// <c>KVM_CAP_IOEVENTFD</c>.</summary>
    public IoEventFdFeature? IoEventFds { get; private set; }

    private void InitInterruptsAndDevices()
    {
        if (Capabilities.Has(KvmCap.KVM_CAP_IRQCHIP))
            Irqchip = new IrqchipFeature(this, _sys);
        if (Capabilities.Has(KvmCap.KVM_CAP_IRQFD))
            IrqFds = new IrqFdFeature(this, _sys, Capabilities.Has(KvmCap.KVM_CAP_IRQFD_RESAMPLE));
        if (Capabilities.Has(KvmCap.KVM_CAP_IOEVENTFD))
            IoEventFds = new IoEventFdFeature(this, _sys, Capabilities.Has(KvmCap.KVM_CAP_IOEVENTFD_ANY_LENGTH));
        InitDevices();
        InitExits();
    }

    /// <summary>Exit-related features (src/Sdk/Capabilities/VmFd.Exits.cs).</summary>
    partial void InitExits();

    /// <summary>Device and stats features (src/Sdk/Devices).</summary>
    partial void InitDevices();

    /// <summary>An ioctl on the VM fd with a pointer argument; the result or -errno (never throws for the kernel's
    /// refusal; throws <see cref="ObjectDisposedException"/> after Dispose).</summary>
    internal unsafe int VmIoctl(nuint request, void* arg) =>
        Fd.Ioctl(_sys, request, arg);

    /// <summary>An ioctl on the VM fd with an integer argument; the result or -errno.</summary>
    internal int VmIoctl(nuint request, nint arg) =>
        Fd.Ioctl(_sys, request, arg);
}
