#pragma warning disable KVMEXP001 // the in-place backend is one of the two the converter drives
using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>GuestRangeConverter over the v8 fake kernel (in place) and the mainline VM-level backend: splitting over
/// memslots and guest_memfd files, partial failure, EAGAIN + retry through a listener, discard, and the
/// MEMORY_FAULT / MAP_GPA_RANGE service loop.</summary>
public unsafe class GuestRangeConverterTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    private sealed class Recorder : IConversionListener
    {
        public readonly List<string> Events = new();
        public Func<ConversionPiece, ulong, int, bool>? Busy;

        public void Before(ConversionPiece piece) => Events.Add($"before 0x{piece.Gpa:X}+0x{piece.Size:X}");

        public void After(ConversionPiece piece, KvmResult result) => Events.Add($"after 0x{piece.Gpa:X} {result}");

        public bool OnBusy(ConversionPiece piece, ulong errorOffset, int attempt)
        {
            Events.Add($"busy 0x{errorOffset:X} #{attempt}");
            return Busy?.Invoke(piece, errorOffset, attempt) ?? false;
        }
    }

    // Two guest_memfd files in three slots: [1M, +4p) and [1M+4p, +2p) from gmem A (offsets 0 and 4p), [1M+6p, +2p)
    // from gmem B at offset 2p.
    private static (InPlaceFakeKernel, KvmSystem, VmFd, GmemFd, GmemFd, GuestRangeConverter) InPlace(ConversionOptions? options = null)
    {
        var k = new InPlaceFakeKernel(FakeKernelKind.V8);
        var (kvm, vm) = k.Open(ProposedAbiTables.V8Marked);
        var a = vm.GuestMemfd!.Create(8 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        var b = vm.GuestMemfd!.Create(8 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        vm.Memslots.Add(0x100000, a, 0, 4 * Page);
        vm.Memslots.Add(0x100000 + 4 * Page, a, 4 * Page, 2 * Page);
        vm.Memslots.Add(0x100000 + 6 * Page, b, 2 * Page, 2 * Page);
        var conv = new GuestRangeConverter(vm, vm.InPlaceConversion!, options);
        while (k.Issued.TryDequeue(out _)) { } // the detection's size-0 probe
        return (k, kvm, vm, a, b, conv);
    }

    private static int FdOf(GmemFd g)
    {
        using var fd = g.BorrowFd();
        return fd.Value;
    }

    [Fact]
    public void ARangeOverThreeSlotsAndTwoFilesIsConvertedPieceByPiece()
    {
        var (k, kvm, vm, a, b, conv) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            var rec = new Recorder();
            conv.AddListener(rec);
            var r = conv.ToPrivate(0x100000 + 2 * Page, 5 * Page);
            Assert.True(r.IsComplete, r.ToString());
            Assert.Equal(5 * Page, r.Converted);
            var calls = k.Issued.ToArray();
            Assert.Equal(3, calls.Length);
            Assert.Equal((FdOf(a), 2 * Page, 2 * Page, 8UL), (calls[0].Fd, calls[0].Offset, calls[0].Size, calls[0].Attributes));
            Assert.Equal((FdOf(a), 4 * Page, 2 * Page), (calls[1].Fd, calls[1].Offset, calls[1].Size));
            Assert.Equal((FdOf(b), 2 * Page, Page), (calls[2].Fd, calls[2].Offset, calls[2].Size));
            Assert.Equal(6, rec.Events.Count);
            Assert.StartsWith("before 0x", rec.Events[0]);
            Assert.StartsWith("after 0x", rec.Events[1]);
            Assert.Equal(PageState.Private, b.GetState(2 * Page));
            Assert.Equal(PageState.Shared, b.GetState(3 * Page));
        }
    }

    [Fact]
    public void AGapIsRefusedBeforeAnySyscall()
    {
        var (k, kvm, vm, a, b, conv) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            var ex = Assert.Throws<ArgumentException>(() => conv.ToPrivate(0x100000 + 6 * Page, 4 * Page));
            Assert.Contains("in no memslot", ex.Message);
            Assert.Empty(k.Issued);
        }
    }

    [Fact]
    public void PartialFailureSaysHowFarItGot()
    {
        var (k, kvm, vm, a, b, conv) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            k.FailAt = (4 * Page, Errno.ENOMEM); // the second piece (gmem A at 4p)
            var r = conv.ToShared(0x100000, 8 * Page);
            Assert.False(r.IsComplete);
            Assert.Equal(4 * Page, r.Converted);
            Assert.Equal(Errno.ENOMEM, r.Error.Errno);
            Assert.Equal(0x100000 + 4 * Page, r.FailedPiece!.Gpa);
            Assert.Equal(2, k.Issued.Count); // the third piece was not attempted
            var ex = Assert.Throws<KvmException>(() => conv.ThrowIfIncomplete(r));
            Assert.Equal("KVM_SET_MEMORY_ATTRIBUTES2", ex.Operation);
            Assert.Contains("converted 0x", ex.Message);
        }
    }

    [Fact]
    public void EagainIsRetriedAfterAListenerReleasesThePage()
    {
        var (k, kvm, vm, a, b, conv) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            var fdA = FdOf(a);
            k.Pinned[(fdA, Page)] = true; // e.g. pinned for DMA
            var rec = new Recorder { Busy = (_, off, _) => k.Pinned.TryRemove((fdA, off), out _) };
            conv.AddListener(rec);
            var r = conv.ToPrivate(0x100000, 2 * Page);
            Assert.True(r.IsComplete, r.ToString());
            Assert.Equal(1, r.Retries);
            Assert.Contains($"busy 0x{Page:X} #1", rec.Events);
            Assert.Equal([-(int)Errno.EAGAIN, 0], k.Issued.Select(i => i.Result).ToArray());
        }
    }

    [Fact]
    public void EagainWithoutAListenersWordEndsTheConversionWithTheErrorOffset()
    {
        var (k, kvm, vm, a, b, conv) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            k.Pinned[(FdOf(a), 3 * Page)] = true;
            var r = conv.ToPrivate(0x100000, 4 * Page);
            Assert.Equal(Errno.EAGAIN, r.Error.Errno);
            Assert.Equal(3 * Page, r.Error.ErrorOffset);
            Assert.Equal(0UL, r.Converted);
            Assert.Single(k.Issued);
        }
        // RetryWithoutListener: bounded by MaxRetriesPerPiece.
        var (k2, kvm2, vm2, a2, b2, conv2) = InPlace(new ConversionOptions { RetryWithoutListener = true, MaxRetriesPerPiece = 2, RetryDelay = TimeSpan.Zero });
        using (kvm2) using (vm2) using (a2) using (b2)
        {
            k2.Pinned[(FdOf(a2), 0)] = true;
            var r = conv2.ToPrivate(0x100000, Page);
            Assert.Equal(Errno.EAGAIN, r.Error.Errno);
            Assert.Equal(2, r.Retries);
            Assert.Equal(3, k2.Issued.Count);
        }
    }

    [Fact]
    public void LegacyDiscardFreesTheSideNoLongerUsed()
    {
        var k = new InPlaceFakeKernel(FakeKernelKind.Released);
        var (kvm, vm) = k.Open(KvmUapi.For("x86_64")!);
        using (kvm) using (vm)
        {
            using var gmem = vm.GuestMemfd!.Create(4 * Page);
            using var host = kvm.AllocateHostMemory(4 * Page);
            using var slot = vm.Memslots.Add(0x200000, gmem, 0, 4 * Page, host, 0);
            var conv = new GuestRangeConverter(vm, vm.Conversion!, new ConversionOptions { Discard = DiscardPolicy.DiscardUnusedSide });
            var r = conv.ToPrivate(0x200000 + Page, 2 * Page);
            Assert.True(r.IsComplete, r.ToString());
            Assert.Equal(2 * Page, r.Discarded);
            var removed = Assert.Single(k.Sys.Removed);
            Assert.Equal((nuint)(2 * Page), removed.Length);
            r = conv.ToShared(0x200000, Page);
            Assert.Equal(Page, r.Discarded);
            Assert.Contains(k.Sys.Calls, c => c == $"fallocate 3 0 {Page}"); // PUNCH_HOLE | KEEP_SIZE at offset 0
            // Keep (the default): nothing freed.
            var keep = new GuestRangeConverter(vm, vm.Conversion!);
            Assert.Equal(0UL, keep.ToPrivate(0x200000, Page).Discarded);
            Assert.Single(k.Sys.Removed);
        }
    }

    [Fact]
    public void MapGpaRangeAndMemoryFaultsAreServedInOneLoop()
    {
        var (k, kvm, vm, a, b, conv) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            using var vcpu = vm.CreateVcpu(0);
            var step = 0;
            ulong returned = 1;
            k.Sys.Handlers[KvmIoctls.KVM_RUN.Value] = (fd, _, _) =>
            {
                var run = (Interop.X86_64.kvm_run*)k.Sys.Mappings[fd];
                switch (step++)
                {
                    case 0: // the guest asks for 3 4-KiB pages at 1M+4p to become private
                        run->exit_reason = (uint)KvmExit.KVM_EXIT_HYPERCALL;
                        run->hypercall.nr = HypercallExit.KVM_HC_MAP_GPA_RANGE;
                        run->hypercall.args[0] = 0x100000 + 4 * Page;
                        run->hypercall.args[1] = 2 * Page / 4096;
                        run->hypercall.args[2] = HypercallExit.KVM_MAP_GPA_RANGE_ENCRYPTED;
                        return 0;
                    case 1: // then a shared access faults on a private page
                        returned = run->hypercall.ret;
                        run->exit_reason = (uint)KvmExit.KVM_EXIT_MEMORY_FAULT;
                        run->memory_fault.gpa = 0x100000 + 4 * Page;
                        run->memory_fault.size = Page;
                        run->memory_fault.flags = 0;
                        return -(int)Errno.EFAULT;
                    default:
                        run->exit_reason = (uint)KvmExit.KVM_EXIT_HLT;
                        return 0;
                }
            };
            var exit = vcpu.RunServicingConversions(conv);
            Assert.Equal(VcpuExitReason.Hlt, exit.Reason);
            Assert.Equal(0UL, returned);
            var calls = k.Issued.ToArray();
            Assert.Equal((4 * Page, 2 * Page, 8UL), (calls[0].Offset, calls[0].Size, calls[0].Attributes));
            Assert.Equal((4 * Page, Page, 0UL), (calls[1].Offset, calls[1].Size, calls[1].Attributes));
        }
    }

    [Fact]
    public void ARefusedMapGpaRangeGoesBackToTheGuestAsMinusErrno()
    {
        var (k, kvm, vm, a, b, conv) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            using var vcpu = vm.CreateVcpu(0);
            k.Pinned[(FdOf(a), 0)] = true;
            var step = 0;
            ulong returned = 0;
            k.Sys.Handlers[KvmIoctls.KVM_RUN.Value] = (fd, _, _) =>
            {
                var run = (Interop.X86_64.kvm_run*)k.Sys.Mappings[fd];
                if (step++ == 0)
                {
                    run->exit_reason = (uint)KvmExit.KVM_EXIT_HYPERCALL;
                    run->hypercall.nr = HypercallExit.KVM_HC_MAP_GPA_RANGE;
                    run->hypercall.args[0] = 0x100000;
                    run->hypercall.args[1] = 1;
                    run->hypercall.args[2] = HypercallExit.KVM_MAP_GPA_RANGE_ENCRYPTED;
                    return 0;
                }
                returned = run->hypercall.ret;
                run->exit_reason = (uint)KvmExit.KVM_EXIT_HLT;
                return 0;
            };
            vcpu.RunServicingConversions(conv);
            Assert.Equal(unchecked((ulong)-(long)Errno.EAGAIN), returned);
        }
    }

    [Fact]
    public void PreFaultAfterEachPieceOnTheGivenVcpu()
    {
        var (k, kvm, vm, a, b, _) = InPlace();
        using (kvm) using (vm) using (a) using (b)
        {
            using var vcpu = vm.CreateVcpu(0);
            var faulted = new List<(ulong Gpa, ulong Size)>();
            k.Sys.Handlers[KvmIoctls.KVM_PRE_FAULT_MEMORY.Value] = (_, _, arg) =>
            {
                var r = (kvm_pre_fault_memory*)arg;
                faulted.Add((r->gpa, r->size));
                r->gpa += r->size;
                r->size = 0;
                return 0;
            };
            var conv = new GuestRangeConverter(vm, vm.InPlaceConversion!, new ConversionOptions { PreFaultVcpu = vcpu });
            Assert.True(conv.ToShared(0x100000 + 3 * Page, 2 * Page).IsComplete);
            Assert.Equal([(0x100000 + 3 * Page, Page), (0x100000 + 4 * Page, Page)], faulted);
            Assert.True(conv.LastPreFaultError.IsSuccess);

            // A vCPU of another VM is refused before any syscall.
            using var other = kvm.CreateVm(VmType.X86SwProtected);
            using var foreign = other.CreateVcpu(0);
            Assert.Throws<ArgumentException>(() => new GuestRangeConverter(vm, vm.InPlaceConversion!, new ConversionOptions { PreFaultVcpu = foreign }));
        }
    }
}
