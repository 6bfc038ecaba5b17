// One test passes an unaligned range on purpose, to test the SDK's own check.
#pragma warning disable KVM1003
#pragma warning disable KVMEXP001, KVMEXP002 // the experimental, proposed-ABI conversions are what these tests cover
using System.Runtime.InteropServices;
using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>
/// The two proposed in-place conversion ABIs, against a fake kernel that follows the POSTED behaviour (no released
/// kernel has either): v8 <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on the guest_memfd fd (128-byte struct, EAGAIN +
/// error_offset when a page is still referenced; gmem-uapi.md §5.6) and RFC v2 <c>KVM_GMEM_CONVERT_SHARED/PRIVATE</c>
/// (64-byte struct; §4, §6). Numbers come from the ABI tables only.
/// </summary>
public unsafe class ProposedConversionTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    private sealed record Issued(int Fd, nuint Request, byte[] Bytes);

    private static (FakeSyscalls, KvmSystem, VmFd, List<Issued>) Setup(UapiTable abi, int cap, int capValue)
    {
        var sys = new FakeSyscalls();
        sys.Caps[cap] = capValue;
        var issued = new List<Issued>();
        foreach (var name in new[] { "KVM_SET_MEMORY_ATTRIBUTES2", "KVM_GMEM_CONVERT_SHARED", "KVM_GMEM_CONVERT_PRIVATE" })
            if (abi.TryGetIoctl(name, out var req))
                sys.Handlers[req] = (fd, r, arg) =>
                {
                    lock (issued)
                        issued.Add(new Issued(fd, r, new ReadOnlySpan<byte>(arg, (int)IoctlFormat.Size(r)).ToArray()));
                    return 0;
                };
        var kvm = KvmSystem.OpenWith(sys, abi: abi);
        return (sys, kvm, kvm.CreateVm(VmType.X86SwProtected), issued);
    }

    [Fact]
    public void V8IsOfferedOnlyWhenTableAndVmCapabilitySayYes()
    {
        var (_, _, vm, _) = Setup(ProposedAbiTables.V8, 250, 8);
        Assert.Equal(ConversionBackend.GuestMemfdAttributes2, vm.InPlaceConversionV8!.Backend);
        Assert.Null(vm.InPlaceConversionRfcV2); // not in this table

        var (_, _, vm0, _) = Setup(ProposedAbiTables.V8, 250, 0); // disabled in-place conversion: cap 0
        Assert.Null(vm0.InPlaceConversionV8);

        // Released headers have no KVM_SET_MEMORY_ATTRIBUTES2, whatever cap 250 (KVM_CAP_PPC_COMPAT_CAPS) answers.
        var sys = new FakeSyscalls();
        sys.Caps[250] = 8;
        using var kvm = KvmSystem.OpenWith(sys);
        using var released = kvm.CreateVm();
        Assert.Null(released.InPlaceConversionV8);

        var (_, _, vmWrong, _) = Setup(ProposedAbiTables.V8WrongSize, 250, 8);
        Assert.Contains("128-byte", Assert.Throws<NotSupportedException>(() => vmWrong.InPlaceConversionV8).Message);
    }

    [Fact]
    public void V8ConvertsOnTheGuestMemfdFdWithFileOffsetsAndTracksPageState()
    {
        var (_, _, vm, issued) = Setup(ProposedAbiTables.V8, 250, 8);
        var conv = vm.InPlaceConversionV8!;
        using var gmem = vm.GuestMemfd!.Create(8 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var map = gmem.Map();
        using var slot = vm.Memslots.Add(0x100000, map, gmemOffset: 2 * Page, size: 4 * Page);

        map.Write(3 * Page, [7]);
        conv.ToPrivate(0x100000 + Page, Page); // gmem offset 3 pages
        var call = Assert.Single(issued);
        Assert.Equal(0xC080AED2u, (uint)call.Request);
        Assert.Equal(128, call.Bytes.Length);
        Assert.Equal(3 * Page, MemoryMarshal.Read<ulong>(call.Bytes.AsSpan(0)));    // offset
        Assert.Equal(Page, MemoryMarshal.Read<ulong>(call.Bytes.AsSpan(8)));        // size
        Assert.Equal(8UL, MemoryMarshal.Read<ulong>(call.Bytes.AsSpan(16)));        // attributes = PRIVATE
        Assert.True(call.Bytes.AsSpan(24).IndexOfAnyExcept((byte)0) < 0);          // flags, error_offset, reserved: 0
        Assert.Equal(PageState.Private, conv.GetState(0x100000 + Page));
        Assert.Equal(PageState.Private, gmem.GetState(3 * Page));
        Assert.Throws<InvalidOperationException>(() => map.Write(3 * Page, [1]));  // would be a SIGBUS
        map.Write(2 * Page, [1]);                                                  // neighbours stay shared

        conv.ToShared(0x100000 + Page, Page);
        Assert.Equal(0UL, MemoryMarshal.Read<ulong>(issued[1].Bytes.AsSpan(16)));
        map.Write(3 * Page, [1]);
    }

    [Fact]
    public void V8EagainReportsErrorOffsetAndKeepsThePagesPrivate()
    {
        var (sys, _, vm, _) = Setup(ProposedAbiTables.V8, 250, 8);
        sys.Handlers[0xC080AED2] = (_, _, arg) =>
        {
            var a = (ulong*)arg;
            a[4] = a[0] + Page; // error_offset: the second page is still referenced
            return -(int)Errno.EAGAIN;
        };
        using var gmem = vm.GuestMemfd!.Create(4 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var slot = vm.Memslots.Add(0, gmem, 0, 4 * Page);
        var conv = vm.InPlaceConversionV8!;
        var ex = Assert.Throws<KvmException>(() => conv.ToPrivate(0, 2 * Page));
        Assert.Equal(Errno.EAGAIN, ex.Errno);
        Assert.Equal(Page, ex.ErrorOffset);
        Assert.Equal(KvmFdKind.GuestMemfd, ex.FdKind);
        Assert.Equal("KVM_SET_MEMORY_ATTRIBUTES2", ex.Operation);
        Assert.Equal(PageState.Private, gmem.GetState(0)); // unknown after a failure: treated as private (cannot SIGBUS)
        var r = conv.TryToPrivate(0, Page);
        Assert.Equal(Errno.EAGAIN, r.Errno);
        Assert.Equal(Page, r.ErrorOffset);
    }

    [Fact]
    public void ALiveLeaseBlocksConversionToPrivate()
    {
        var (_, _, vm, issued) = Setup(ProposedAbiTables.V8, 250, 8);
        using var gmem = vm.GuestMemfd!.Create(2 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var map = gmem.Map();
        using var slot = vm.Memslots.Add(0, map);
        var conv = vm.InPlaceConversionV8!;
        using (var lease = map.Lease(0, 16))
        {
            lease.Span[0] = 1;
            Assert.Throws<InvalidOperationException>(() => conv.ToPrivate(0, Page));
        }
        Assert.Empty(issued);
        conv.ToPrivate(0, Page);
        Assert.Single(issued);
    }

    [Fact]
    public void ConversionRangesMustLieInOneGuestMemfdSlot()
    {
        var (_, kvm, vm, issued) = Setup(ProposedAbiTables.V8, 250, 8);
        using var host = kvm.AllocateHostMemory(Page);
        using var plain = vm.Memslots.Add(0, host);
        using var gmem = vm.GuestMemfd!.Create(2 * Page);
        using var slot = vm.Memslots.Add(0x10000, gmem, 0, 2 * Page);
        var conv = vm.InPlaceConversionV8!;
        Assert.Throws<ArgumentException>(() => conv.ToPrivate(0, Page));               // not guest_memfd
        Assert.Throws<ArgumentException>(() => conv.ToPrivate(0x10000, 4 * Page));     // past the slot
        Assert.Throws<ArgumentOutOfRangeException>(() => conv.ToPrivate(0x10001, Page)); // unaligned
        Assert.Empty(issued);
    }

    [Fact]
    public void RfcV2UsesItsOwnIoctlPerDirection()
    {
        var (_, _, vm, issued) = Setup(ProposedAbiTables.RfcV2, 241, 1);
        Assert.Null(vm.InPlaceConversionV8);
        var conv = vm.InPlaceConversionRfcV2!;
        Assert.Equal(ConversionBackend.GuestMemfdConvertRfcV2, conv.Backend);
        using var gmem = vm.GuestMemfd!.Create(4 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var slot = vm.Memslots.Add(0x200000, gmem, Page, 2 * Page);
        conv.ToPrivate(0x200000, 2 * Page);
        conv.ToShared(0x200000 + Page, Page);
        Assert.Equal(2, issued.Count);
        Assert.Equal(0xC040AF42u, (uint)issued[0].Request);
        Assert.Equal(0xC040AF41u, (uint)issued[1].Request);
        Assert.Equal(64, issued[0].Bytes.Length);
        Assert.Equal(Page, MemoryMarshal.Read<ulong>(issued[0].Bytes.AsSpan(0)));       // offset in the file
        Assert.Equal(2 * Page, MemoryMarshal.Read<ulong>(issued[0].Bytes.AsSpan(8)));
        Assert.Equal(2 * Page, MemoryMarshal.Read<ulong>(issued[1].Bytes.AsSpan(0)));
        Assert.Equal(PageState.Private, gmem.GetState(Page));
        Assert.Equal(PageState.Shared, gmem.GetState(2 * Page));
    }

    [Fact]
    public void MemoryFaultHelperConvertsAndReenters()
    {
        var (sys, _, vm, issued) = Setup(ProposedAbiTables.V8, 250, 8);
        using var gmem = vm.GuestMemfd!.Create(4 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        using var slot = vm.Memslots.Add(0, gmem, 0, 4 * Page);
        using var vcpu = vm.CreateVcpu(0);
        var runs = 0;
        sys.Handlers[KvmIoctls.KVM_RUN.Value] = (fd, _, _) =>
        {
            var run = (Interop.X86_64.kvm_run*)sys.Mappings[fd];
            if (runs++ == 0)
            {
                run->exit_reason = (uint)KvmExit.KVM_EXIT_MEMORY_FAULT;
                run->memory_fault.gpa = Page + 8;
                run->memory_fault.size = 0;
                run->memory_fault.flags = (ulong)KvmMemoryExitFlags.KVM_MEMORY_EXIT_FLAG_PRIVATE;
                return -(int)Errno.EFAULT;
            }
            run->exit_reason = (uint)KvmExit.KVM_EXIT_HLT;
            return 0;
        };
        var exit = vcpu.RunServicingMemoryFaults(vm.InPlaceConversionV8!);
        Assert.Equal(VcpuExitReason.Hlt, exit.Reason);
        Assert.Equal(2, runs);
        Assert.Equal(Page, MemoryMarshal.Read<ulong>(Assert.Single(issued).Bytes.AsSpan(0)));
        Assert.Equal(PageState.Private, gmem.GetState(Page));
    }
}
