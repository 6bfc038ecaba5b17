using System.Runtime.InteropServices;
using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Interrupts, devices and stats over the fake kernel: the rules checked before the syscall, ownership and
/// the order of teardown, the flexible-array buffers, and allocation-free hot paths.</summary>
public unsafe class InterruptValidationTests
{
    private static string Ioctl(nuint request) => $"ioctl 0x{(ulong)request:X}";

    private static (FakeSyscalls Sys, KvmSystem Kvm, VmFd Vm) NewVm(Action<FakeSyscalls>? caps = null)
    {
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_IRQCHIP] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_IRQ_ROUTING] = 4096;
        sys.Caps[(int)KvmCap.KVM_CAP_PIT2] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_SIGNAL_MSI] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_IRQFD] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_IOEVENTFD] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_DEVICE_CTRL] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_BINARY_STATS_FD] = 1;
        caps?.Invoke(sys);
        var kvm = KvmSystem.OpenWith(sys);
        return (sys, kvm, kvm.CreateVm(VmType.X86Default));
    }

    [Fact]
    public void FeaturesAreNullWithoutTheirCapabilities()
    {
        using var kvm = KvmSystem.OpenWith(new FakeSyscalls());
        using var vm = kvm.CreateVm();
        Assert.Null(vm.Irqchip);
        Assert.Null(vm.IrqFds);
        Assert.Null(vm.IoEventFds);
        Assert.Null(vm.Devices);
        Assert.Null(vm.Stats);
        var (_, _, full) = NewVm();
        Assert.NotNull(full.Irqchip);
        Assert.NotNull(full.IrqFds);
        Assert.NotNull(full.IoEventFds);
        Assert.NotNull(full.Devices);
        Assert.NotNull(full.Stats);
    }

    [Fact]
    public void IrqchipAndIdentityMapAfterAVcpuAreRefusedBeforeTheIoctl()
    {
        var (sys, _, vm) = NewVm(s => s.Caps[(int)KvmCap.KVM_CAP_SET_IDENTITY_MAP_ADDR] = 1);
        vm.CreateVcpu(0).Dispose();
        Assert.Throws<InvalidOperationException>(vm.Irqchip!.CreateIrqchip);
        Assert.Throws<InvalidOperationException>(() => vm.SetIdentityMapAddress(0xFFFBC000));
        Assert.Equal(0, sys.Count(Ioctl(KvmIoctls.KVM_CREATE_IRQCHIP.Value)));
        Assert.Equal(0, sys.Count(Ioctl(KvmIoctls.KVM_SET_IDENTITY_MAP_ADDR.Value)));
    }

    [Fact]
    public void Pit2FlagsAndCapabilityAreChecked()
    {
        var (sys, _, vm) = NewVm();
        Assert.Throws<ArgumentException>(() => vm.Irqchip!.CreatePit2((PitConfigFlags)2));
        Assert.Equal(0, sys.Count(Ioctl(KvmIoctls.KVM_CREATE_PIT2.Value)));
        var (_, _, noPit) = NewVm(s => s.Caps[(int)KvmCap.KVM_CAP_PIT2] = 0);
        Assert.Throws<NotSupportedException>(() => noPit.Irqchip!.CreatePit2());
        Assert.Throws<NotSupportedException>(() => noPit.SetTssAddress(0xFFFBD000));
    }

    [Fact]
    public void RoutingTableRules()
    {
        Assert.Equal(40, GsiRoutingTable.X86Default().Count); // 16 PIC + 24 IOAPIC routes
        var t = new GsiRoutingTable();
        Assert.Throws<ArgumentOutOfRangeException>(() => t.AddIrqchip(0, IrqchipKind.PicMaster, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.AddIrqchip(0, IrqchipKind.Ioapic, 24));
        Assert.Throws<ArgumentException>(() => t.AddIrqchip(0, (IrqchipKind)3, 0));
        t.AddIrqchip(1, IrqchipKind.PicMaster, 1).AddIrqchip(1, IrqchipKind.Ioapic, 1);
        Assert.Contains("at most once", Assert.Throws<ArgumentException>(() => t.AddIrqchip(1, IrqchipKind.Ioapic, 2)).Message);
        Assert.Throws<ArgumentException>(() => t.AddMsi(1, 0xFEE00000, 0x30));
        t.AddMsi(30, 0xFEE00000, 0x30);
        Assert.Throws<ArgumentException>(() => t.AddIrqchip(30, IrqchipKind.Ioapic, 3));
        Assert.Equal(1, t.Remove(30));
        Assert.Equal(2, t.Count);
    }

    [Fact]
    public void GsiRoutingIsPassedAsHeaderPlusEntries()
    {
        var (sys, _, vm) = NewVm(s => s.Caps[(int)KvmCap.KVM_CAP_IRQ_ROUTING] = 64);
        uint nr = 0;
        kvm_irq_routing_entry last = default;
        sys.Handlers[KvmIoctls.KVM_SET_GSI_ROUTING.Value] = (_, _, arg) =>
        {
            ref var header = ref *(kvm_irq_routing*)arg;
            nr = header.nr;
            last = kvm_irq_routing.entries(ref header, (int)nr)[^1];
            return 0;
        };
        vm.Irqchip!.SetGsiRouting(GsiRoutingTable.X86Default().AddMsi(40, 0x1_FEE0_1000, 0x4031));
        Assert.Equal(41u, nr);
        Assert.Equal(40u, last.gsi);
        Assert.Equal((uint)KvmConstants.KVM_IRQ_ROUTING_MSI, last.type);
        Assert.Equal(0xFEE01000u, last.u.msi.address_lo);
        Assert.Equal(1u, last.u.msi.address_hi);
        Assert.Equal(0x4031u, last.u.msi.data);

        var before = sys.Count(Ioctl(KvmIoctls.KVM_SET_GSI_ROUTING.Value));
        Assert.Throws<ArgumentException>(() => vm.Irqchip.SetGsiRouting(new GsiRoutingTable().AddMsi(64, 0xFEE00000, 0)));
        Assert.Throws<ArgumentException>(() => vm.Irqchip.SetGsiRouting(new GsiRoutingTable().AddMsi(1, 0xFEE00000, 0, deviceId: 3)));
        Assert.Equal(before, sys.Count(Ioctl(KvmIoctls.KVM_SET_GSI_ROUTING.Value)));
    }

    [Fact]
    public void IrqFdResampleNeedsItsCapabilityAndNoEventfdIsLeft()
    {
        var (sys, _, vm) = NewVm();
        Assert.False(vm.IrqFds!.SupportsResample);
        Assert.Throws<ArgumentException>(() => vm.IrqFds.Register(5, resample: true));
        Assert.Equal(0, sys.Count("eventfd"));
        sys.Handlers[KvmIoctls.KVM_IRQFD.Value] = (_, _, _) => -(int)Errno.EINVAL;
        Assert.Equal(Errno.EINVAL, vm.IrqFds.TryRegister(5, false, out var none).Errno);
        Assert.Null(none);
        Assert.Equal(1, sys.Count("eventfd"));
        Assert.DoesNotContain(sys.EventFds.Keys, fd => sys.Open.ContainsKey(fd)); // closed again
    }

    [Theory]
    [InlineData(3, null, "0, 1, 2, 4 or 8")]
    [InlineData(0, null, "KVM_CAP_IOEVENTFD_ANY_LENGTH")]
    [InlineData(1, 0x100UL, "does not fit in 1 byte")]
    public void IoEventFdArgumentRules(int length, ulong? datamatch, string rule)
    {
        var (sys, _, vm) = NewVm();
        var ex = Assert.ThrowsAny<ArgumentException>(() => vm.IoEventFds!.RegisterPio(0x10, length, datamatch));
        Assert.Contains(rule, ex.Message);
        Assert.Equal(0, sys.Count("eventfd"));
        Assert.Equal(0, sys.Count(Ioctl(KvmIoctls.KVM_IOEVENTFD.Value)));
    }

    [Fact]
    public void IoEventFdOfAnyLengthTakesNoDatamatch()
    {
        var (_, _, vm) = NewVm(s => s.Caps[(int)KvmCap.KVM_CAP_IOEVENTFD_ANY_LENGTH] = 1);
        Assert.Throws<ArgumentException>(() => vm.IoEventFds!.RegisterMmio(0x1000, 0, datamatch: 1));
        using var any = vm.IoEventFds!.RegisterMmio(0x1000, 0);
        Assert.Equal(0, any.Length);
    }

    [Fact]
    public void DisposeDeassignsThenClosesAndTheVmDeassignsBetweenVcpusAndSlots()
    {
        var (sys, kvm, vm) = NewVm();
        var flags = new List<uint>();
        sys.Handlers[KvmIoctls.KVM_IOEVENTFD.Value] = (_, _, arg) =>
        {
            var a = (kvm_ioeventfd*)arg;
            flags.Add(a->flags);
            sys.Calls.Enqueue($"ioeventfd flags {a->flags} fd {a->fd}");
            return 0;
        };
        var io = vm.IoEventFds!.RegisterPio(0x10, 2, datamatch: 0xBEEF);
        Assert.Equal((uint)(KvmConstants.KVM_IOEVENTFD_FLAG_PIO | KvmConstants.KVM_IOEVENTFD_FLAG_DATAMATCH), flags[0]);
        var fd = sys.EventFds.Keys.Max();
        io.Dispose();
        io.Dispose();
        Assert.Equal(2, flags.Count);
        Assert.Equal(flags[0] | (uint)KvmConstants.KVM_IOEVENTFD_FLAG_DEASSIGN, flags[1]);
        var calls = sys.Calls.ToList();
        Assert.True(calls.IndexOf($"ioeventfd flags {flags[1]} fd {fd}") < calls.IndexOf($"close {fd}"));

        // The VM's Dispose: vCPUs closed, then the irqfd deassigned, then the slot deleted.
        using var host = kvm.AllocateHostMemory((ulong)Environment.SystemPageSize);
        var slot = vm.Memslots.Add(0, host);
#pragma warning disable KVM1006 // on purpose: the VM's Dispose is what closes this vCPU
        var vcpu = vm.CreateVcpu(0);
#pragma warning restore KVM1006
        var irqfd = vm.IrqFds!.Register(4);
        sys.Handlers[KvmIoctls.KVM_IRQFD.Value] = (_, _, arg) =>
        {
            sys.Calls.Enqueue($"irqfd flags {((kvm_irqfd*)arg)->flags}");
            return 0;
        };
        sys.Handlers[KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value] = (_, _, arg) =>
        {
            sys.Calls.Enqueue("region2");
            return 0;
        };
        var mark = sys.Calls.Count;
        vm.Dispose();
        var after = sys.Calls.Skip(mark).ToList();
        var deassign = after.IndexOf($"irqfd flags {KvmConstants.KVM_IRQFD_FLAG_DEASSIGN}");
        Assert.True(deassign >= 0, string.Join(" | ", after));
        Assert.True(after.FindIndex(c => c.StartsWith("retire", StringComparison.Ordinal) || c.StartsWith("close", StringComparison.Ordinal)) < deassign);
        Assert.True(deassign < after.IndexOf("region2"));
        Assert.True(irqfd.IsDisposed && slot.IsDeleted && vcpu.IsDisposed);
    }

    [Fact]
    public void SignalAndReadAreAllocationFree()
    {
        var (sys, _, vm) = NewVm(s => s.Caps[(int)KvmCap.KVM_CAP_IRQFD_RESAMPLE] = 1);
        using var irqfd = vm.IrqFds!.Register(4);
        using var io = vm.IoEventFds!.RegisterPio(0x10, 1);
        var ioFd = sys.EventFds.Keys.Max();

        void Work()
        {
            for (var i = 0; i < 100; i++)
            {
                irqfd.Signal();
                sys.EventFds[ioFd] = 1; // the "kernel" signals the ioeventfd
                if (!io.TryRead(out var n) || n != 1 || io.TryRead(out _))
                    throw new InvalidOperationException();
            }
        }

        Work();
        sys.Record = false;
        var before = GC.GetAllocatedBytesForCurrentThread();
        Work();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void DevicesMapEnodevAndAdoptTheKernelsFd()
    {
        var (sys, _, vm) = NewVm();
        sys.Handlers[KvmIoctls.KVM_CREATE_DEVICE.Value] = (_, _, arg) =>
        {
            var cd = (kvm_create_device*)arg;
            if (cd->type != (uint)KvmDeviceType.Vfio)
                return -(int)Errno.ENODEV;
            if ((cd->flags & KvmConstants.KVM_CREATE_DEVICE_TEST) == 0)
                cd->fd = (uint)sys.NewFd();
            return 0;
        };
        Assert.False(vm.Devices!.IsSupported(KvmDeviceType.ArmVgicV3));
        Assert.True(vm.Devices.IsSupported(KvmDeviceType.Vfio));
        var dev = vm.Devices.Create(KvmDeviceType.Vfio);
        var fd = sys.Open.Keys.Max();
        dev.Dispose();
        Assert.False(sys.Open.ContainsKey(fd));
        var ex = Assert.Throws<KvmException>(() => vm.Devices.Create(KvmDeviceType.ArmVgicV3));
        Assert.Equal(Errno.ENODEV, ex.Errno);
        Assert.Contains("no ArmVgicV3 device", ex.Message);
    }

    [Fact]
    public void StatsAreParsedFromTheBinaryLayoutAndReadAllocationFree()
    {
        var (sys, _, vm) = NewVm();
        const int nameSize = 48;
        var descSize = sizeof(kvm_stats_desc) + nameSize;
        var header = new kvm_stats_header { name_size = nameSize, num_desc = 2, id_offset = (uint)sizeof(kvm_stats_header) };
        header.desc_offset = header.id_offset + nameSize;
        header.data_offset = header.desc_offset + (uint)(2 * descSize);
        var file = new byte[header.data_offset + 3 * 8];
        MemoryMarshal.Write(file, in header);
        "kvm-42"u8.CopyTo(file.AsSpan((int)header.id_offset));
        var d0 = new kvm_stats_desc { flags = KvmConstants.KVM_STATS_TYPE_CUMULATIVE, size = 1, offset = 16 };
        var d1 = new kvm_stats_desc
        {
            flags = KvmConstants.KVM_STATS_TYPE_LINEAR_HIST | KvmConstants.KVM_STATS_UNIT_SECONDS | KvmConstants.KVM_STATS_BASE_POW10,
            exponent = -9, size = 2, offset = 0, bucket_size = 10,
        };
        MemoryMarshal.Write(file.AsSpan((int)header.desc_offset), in d0);
        "exits"u8.CopyTo(file.AsSpan((int)header.desc_offset + sizeof(kvm_stats_desc)));
        MemoryMarshal.Write(file.AsSpan((int)header.desc_offset + descSize), in d1);
        "halt_wait_hist"u8.CopyTo(file.AsSpan((int)header.desc_offset + descSize + sizeof(kvm_stats_desc)));
        ulong[] data = [7, 8, 1234];
        MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(file.AsSpan((int)header.data_offset));
        sys.PreadFile = file;
        sys.Handlers[KvmIoctls.KVM_GET_STATS_FD.Value] = (_, _, _) => sys.NewFd();

        using var stats = vm.Stats!.OpenVm();
        Assert.Equal("kvm-42", stats.Id);
        Assert.Equal(3, stats.ValueCount);
        var exits = stats.Find("exits")!;
        Assert.Equal(new KvmStatDescriptor("exits", KvmStatType.Cumulative, KvmStatUnit.None, KvmStatBase.Pow10, 0, 1, 16, 0), exits);
        var hist = stats.Find("halt_wait_hist")!;
        Assert.Equal((KvmStatType.LinearHistogram, KvmStatUnit.Seconds, -9, 10), (hist.Type, hist.Unit, hist.Exponent, hist.BucketSize));
        var values = new ulong[stats.ValueCount];
        stats.ReadValues(values);
        Assert.Equal(1234UL, exits.Value(values));
        Assert.Equal([7UL, 8UL], hist.Values(values).ToArray());
        Assert.Null(stats.Find("nope"));

        sys.Record = false;
        stats.ReadValues(values);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
            stats.ReadValues(values);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
