#pragma warning disable KVMEXP001 // the experimental in-place profiles are what these tests ask the kernel about
using Xunit;
using Kvm.Interop;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>
/// In-place conversion against real kernels. No released kernel carries any posting, so every lane must answer "not in
/// this kernel" for the v7 and v8 profiles (with the colliding capability numbers 249/250 asked for real), the legacy
/// VM-level path must be what the lane's kernel offers, and the conversion machinery a VMM uses (range split over
/// slots, MAP_GPA_RANGE hypercall exits serviced in the run loop) must work through the mainline backend on
/// SW_PROTECTED VMs (the private lane).
/// </summary>
public class InPlaceConversionTests
{
    // Tables as a program built against uapi-headers/proposed/inplace-conversion-v7 / -v8 has them (the numbers those
    // overlays define; uapi-headers/verify.sh checks them with gcc): the released table plus the overlay's names.
    private static UapiTable Table(string overlay, ulong cap, ulong posting)
    {
        var released = KvmUapi.For(IsX86 ? "x86_64" : "arm64")!;
        var c = released.ConstantNames.Select(n => { released.TryGetConstant(n, out var v); return (n, v); })
            .Append(("KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", cap)).Append(("KVM_SDK_INPLACE_POSTING", posting)).ToArray();
        var i = released.IoctlNames.Select(n => { released.TryGetIoctl(n, out var v); return (n, v); })
            .Append(("KVM_SET_MEMORY_ATTRIBUTES2", 0xC080AED2u)).ToArray();
        return new UapiTable($"{released.Profile}+{overlay}", released.Architecture, c, i);
    }

    public static TheoryData<string, ulong, ulong> Postings => new() { { "inplace-conversion-v7", 249, 7 }, { "inplace-conversion-v8", 250, 8 } };

    [Theory]
    [MemberData(nameof(Postings))]
    public void NoReleasedKernelAnswersAnyPosting(string overlay, ulong cap, ulong posting)
    {
        using var kvm = KvmSystem.Open(abi: Table(overlay, cap, posting));
        var type = IsX86 && kvm.SupportsVmType(VmType.X86SwProtected) ? VmType.X86SwProtected : VmType.Default;
        using var vm = kvm.CreateVm(type);
        var d = vm.DetectInPlace()!;
        Assert.Equal((int)posting, d.Profile.Posting);
        if (File.Exists($"/sys/module/kvm/parameters/{d.Profile.Parameter}"))
        {
            // A kernel carrying this posting (the inplace lane of tests/inplace-watch.sh, parameter on): it must match.
            Assert.True(type == VmType.X86SwProtected, "a kernel with in-place conversion must offer KVM_X86_SW_PROTECTED_VM in the inplace lane");
            Assert.True(d.Verdict == InPlaceVerdict.Matches, d.ToString());
            Assert.NotNull(vm.InPlaceConversion);
            return;
        }
        if (Kernel.Lane == "inplace") // the other posting's kernel: these numbers must not be used
        {
            Assert.NotEqual(InPlaceVerdict.Matches, d.Verdict);
            return;
        }
        Assert.True(d.Verdict == InPlaceVerdict.NotInKernel, d.ToString());
        Assert.Null(vm.InPlaceConversion);
        Assert.Contains(d.Signals, s => s.Source == $"kvm.{d.Profile.Parameter}" && s.Answer == "absent");
        Assert.Contains(d.Signals, s => s.Source == $"capability {cap}" && s.SaysOn == false);
        if (vm.GuestMemfd is not null) // 6.8+: the ioctl was really issued on a guest_memfd and the kernel said ENOTTY
            Assert.Contains(d.Signals, s => s.Source.StartsWith("KVM_SET_MEMORY_ATTRIBUTES2", StringComparison.Ordinal) && s.Answer.StartsWith("ENOTTY", StringComparison.Ordinal));
    }

    [Fact]
    public void TheLegacyPathIsWhatTheKernelOffers()
    {
        using var kvm = KvmSystem.Open(abi: Table("inplace-conversion-v8", 250, 8));
        using var vm = kvm.CreateVm();
        var legacy = vm.DetectInPlace()!.Legacy;
        if (!Kernel.AtLeast(6, 8))
            Assert.Equal(LegacyAttributesOutcome.Enotty, legacy); // no VM-level attributes before 6.8
        else
            // A default VM has no PRIVATE. arm64 6.12 and 7.3 (also pKVM) have the VM ioctl and answer EINVAL, as the
            // arm64 lanes showed; a kernel built without it answers ENOTTY.
            Assert.True(legacy is LegacyAttributesOutcome.EinvalForPrivate or LegacyAttributesOutcome.Enotty, $"{legacy}");
        if (Kernel.Lane is "newest" or "private" or "inplace")
            Assert.Equal(LegacyAttributesOutcome.EinvalForPrivate, legacy); // Debian 7.3 builds VM-level attributes (SEV)
        if (IsX86 && kvm.SupportsVmType(VmType.X86SwProtected))
        {
            using var sw = kvm.CreateVm(VmType.X86SwProtected);
            // With in-place conversion on (the inplace lane) VM-level PRIVATE is gone; otherwise it works.
            Assert.Equal(Kernel.Lane == "inplace" ? LegacyAttributesOutcome.EinvalForPrivate : LegacyAttributesOutcome.Works, sw.DetectInPlace()!.Legacy);
        }
    }

    [Fact]
    public void ARangeOverTwoSlotsConvertsPieceByPieceAndDiscardsTheUnusedSide()
    {
        using var kvm = KvmSystem.Open();
        Assert.SkipUnless(IsX86 && kvm.SupportsVmType(VmType.X86SwProtected), "KVM_X86_SW_PROTECTED_VM is not in KVM_CAP_VM_TYPES here");
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        Assert.SkipWhen(vm.Conversion is null, "KVM_CAP_MEMORY_ATTRIBUTES lacks PRIVATE on this SW_PROTECTED VM (in-place conversion on): no legacy path to discard for");
        using var gmemA = vm.GuestMemfd!.Create(16 * Page);
        using var gmemB = vm.GuestMemfd!.Create(16 * Page);
        using var host = kvm.AllocateHostMemory(32 * Page);
        // mov al, [0x1000] ; out 0x10, al ; mov al, [0x11000] via ds=0x1000: mov ax,0x1000; mov ds,ax; mov al,[0x1000]; out 0x11, al; hlt
        host.Write(0, [0xA0, 0x00, 0x10, 0xE6, 0x10, 0xB8, 0x00, 0x10, 0x8E, 0xD8, 0xA0, 0x00, 0x10, 0xE6, 0x11, 0xF4]);
        host.Write(0x1000, [0x41]);
        host.Write(0x11000, [0x42]);
        using var slotA = vm.Memslots.Add(0, gmemA, 0, 16 * Page, host, 0);
        using var slotB = vm.Memslots.Add(16 * Page, gmemB, 0, 16 * Page, host, 16 * Page);
        var conv = new GuestRangeConverter(vm, vm.Conversion!, new ConversionOptions { Discard = DiscardPolicy.DiscardUnusedSide });
        using var vcpu = vm.CreateVcpu(0);
        Assert.Equal((0x41, 0x42), Run(vcpu));

        var r = conv.ToPrivate(0x1000, 0x11000); // [0x1000, 0x12000): the end of slot A and the start of slot B
        Assert.True(r.IsComplete, r.ToString());
        Assert.Equal(0x11000UL, r.Discarded);
        Assert.Equal((0, 0), Run(vcpu)); // private: each slot's guest_memfd, zeroes

        r = conv.ToShared(0x1000, 0x11000);
        Assert.True(r.IsComplete, r.ToString());
        Assert.Equal((0, 0), Run(vcpu)); // shared again, but the host side was discarded while private: zeroes
        Span<byte> b = stackalloc byte[1];
        host.Read(0x1000, b);
        Assert.Equal(0, b[0]);
    }

    [Fact]
    public void MapGpaRangeHypercallsAreServicedInTheRunLoop()
    {
        using var kvm = KvmSystem.Open();
        Assert.SkipUnless(IsX86 && kvm.SupportsVmType(VmType.X86SwProtected), "KVM_X86_SW_PROTECTED_VM is not in KVM_CAP_VM_TYPES here");
        SkipOnPvm("KVM_EXIT_HYPERCALL from a real-mode vmcall");
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        Assert.SkipWhen((vm.SupportedExitHypercalls & ExitHypercalls.MapGpaRange) == 0,
            $"KVM_CAP_EXIT_HYPERCALL does not offer KVM_HC_MAP_GPA_RANGE on this kernel ({Kernel.Release})");
        Assert.SkipWhen(vm.Conversion is null, "KVM_CAP_MEMORY_ATTRIBUTES lacks PRIVATE on this SW_PROTECTED VM (in-place conversion on)");
        vm.EnableExitHypercall(ExitHypercalls.MapGpaRange);
        using var gmem = vm.GuestMemfd!.Create(16 * Page);
        using var host = kvm.AllocateHostMemory(16 * Page);
        host.Write(0,
        [
            0x66, 0xB8, 0x0C, 0x00, 0x00, 0x00, // mov eax, 12 (KVM_HC_MAP_GPA_RANGE)
            0x66, 0xBB, 0x00, 0x20, 0x00, 0x00, // mov ebx, 0x2000
            0x66, 0xB9, 0x01, 0x00, 0x00, 0x00, // mov ecx, 1 page
            0x66, 0xBA, 0x10, 0x00, 0x00, 0x00, // mov edx, KVM_MAP_GPA_RANGE_ENCRYPTED (to private)
            0x0F, 0x01, 0xC1,                   // vmcall
            0xE6, 0x10,                         // out 0x10, al (the hypercall's return value)
            0xA0, 0x00, 0x20,                   // mov al, [0x2000]
            0xE6, 0x11,                         // out 0x11, al
            0xF4,                               // hlt
        ]);
        host.Write(0x2000, [0x53]);
        using var slot = vm.Memslots.Add(0, gmem, 0, 16 * Page, host, 0);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.EnterRealMode();
        var conv = new GuestRangeConverter(vm, vm.Conversion!);
        var converted = new List<string>();
        conv.AddListener(new Log(converted));

        var exit = vcpu.RunServicingConversions(conv);
        Assert.True(exit.Reason == VcpuExitReason.Io, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        Assert.Equal(0, exit.Io.Data[0]); // the hypercall returned 0: converted
        Assert.Equal(["[0x2000, 0x3000) -> Private (guest_memfd+0x2000)"], converted);
        Assert.Equal(PageState.Private, vm.Conversion!.GetState(0x2000));
        exit = vcpu.RunServicingConversions(conv);
        Assert.Equal(VcpuExitReason.Io, exit.Reason);
        Assert.Equal(0, exit.Io.Data[0]); // the guest reads the private page: guest_memfd zeroes, not the host's 0x53
        Assert.Equal(VcpuExitReason.Hlt, vcpu.RunServicingConversions(conv).Reason);
    }

    private sealed class Log(List<string> into) : IConversionListener
    {
        public void Before(ConversionPiece piece) { }

        public void After(ConversionPiece piece, KvmResult result) => into.Add(piece.ToString());
    }

    private static (byte, byte) Run(VcpuFd vcpu)
    {
        vcpu.EnterRealMode();
        var e = vcpu.Run();
        Assert.Equal(VcpuExitReason.Io, e.Reason);
        var a = e.Io.Data[0];
        e = vcpu.Run();
        Assert.Equal(VcpuExitReason.Io, e.Reason);
        var b = e.Io.Data[0];
        Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);
        return (a, b);
    }
}
