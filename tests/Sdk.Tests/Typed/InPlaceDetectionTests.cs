#pragma warning disable KVMEXP001 // the experimental in-place profiles are what these tests cover
using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Profiles come from the table the user builds against; the running kernel is matched with every signal,
/// against one fake kernel per posting, and a disagreement is never resolved by guessing.</summary>
public class InPlaceDetectionTests
{
    [Fact]
    public void ProfilesAreReadFromTheTablesNumbers()
    {
        var v7 = InPlaceProfile.From(ProposedAbiTables.V7)!;
        Assert.Equal((7, 249, 0xC080AED2u, "vm_memory_attributes", "N"), (v7.Posting!.Value, v7.Capability, v7.Request, v7.Parameter!, v7.EnabledValue!));
        var v8 = InPlaceProfile.From(ProposedAbiTables.V8Marked)!;
        Assert.Equal((8, 250, "gmem_in_place_conversion", "Y"), (v8.Posting!.Value, v8.Capability, v8.Parameter!, v8.EnabledValue!));
        var unmarked = InPlaceProfile.From(ProposedAbiTables.V8)!; // a header of unknown posting: numbers, no parameter
        Assert.Null(unmarked.Posting);
        Assert.Null(unmarked.Parameter);
        Assert.Null(InPlaceProfile.From(KvmUapi.For("x86_64")!)); // released headers
        Assert.Contains("128-byte", Assert.Throws<NotSupportedException>(() => InPlaceProfile.From(ProposedAbiTables.V8WrongSize)).Message);
    }

    [Theory]
    [InlineData(FakeKernelKind.V7)]
    [InlineData(FakeKernelKind.V8)]
    public void EachPostingsKernelMatchesItsOwnProfileAndConverts(FakeKernelKind kind)
    {
        var k = new InPlaceFakeKernel(kind);
        var (kvm, vm) = k.Open(kind == FakeKernelKind.V7 ? ProposedAbiTables.V7 : ProposedAbiTables.V8Marked);
        using (kvm) using (vm)
        {
            var conv = vm.InPlaceConversion;
            var d = vm.InPlaceDetectionResult!;
            Assert.True(d.Verdict == InPlaceVerdict.Matches, d.ToString());
            Assert.All(d.Signals.Where(s => s.SaysOn is not null), s => Assert.True(s.SaysOn));
            Assert.Equal(LegacyAttributesOutcome.EinvalForPrivate, d.Legacy); // on: VM-level PRIVATE is gone
            Assert.NotNull(conv);
            using var gmem = vm.GuestMemfd!.Create(4 * (ulong)Environment.SystemPageSize);
            using var slot = vm.Memslots.Add(0x100000, gmem, 0, 4 * (ulong)Environment.SystemPageSize);
            conv!.ToPrivate(0x100000, (ulong)Environment.SystemPageSize);
            Assert.Contains(k.Issued, i => i.Size == (ulong)Environment.SystemPageSize && i.Attributes == 8 && i.Result == 0);
        }
    }

    [Fact]
    public void AnotherPostingsKernelMakesTheSignalsDisagree()
    {
        // A v7 kernel, a program built against v8: the ioctl exists (same number) but cap 250 says 0 and the kernel
        // carries v7's parameter. Using the v8 numbers here would be a guess.
        var k = new InPlaceFakeKernel(FakeKernelKind.V7);
        var (kvm, vm) = k.Open(ProposedAbiTables.V8Marked);
        using (kvm) using (vm)
        {
            Assert.Null(vm.InPlaceConversion);
            var d = vm.InPlaceDetectionResult!;
            Assert.Equal(InPlaceVerdict.SignalsDisagree, d.Verdict);
            Assert.Contains(d.Signals, s => s.Source == "kvm.vm_memory_attributes" && s.SaysOn == false);
            Assert.Contains(d.Signals, s => s.Source.StartsWith("KVM_SET_MEMORY_ATTRIBUTES2") && s.SaysOn == true);
            Assert.Contains("not guessing", d.ToString());
        }
    }

    [Fact]
    public void ReleasedKernelsSayNotInKernelEvenWhereTheNumberCollides()
    {
        // x86 7.3: cap 249 (KVM_CAP_S390_HPAGE_2G) is 0, the ioctl is ENOTTY on the guest_memfd, no parameter.
        var k = new InPlaceFakeKernel(FakeKernelKind.Released);
        var (kvm, vm) = k.Open(ProposedAbiTables.V7);
        using (kvm) using (vm)
        {
            var d = vm.DetectInPlace()!;
            Assert.Equal(InPlaceVerdict.NotInKernel, d.Verdict);
            Assert.Equal(LegacyAttributesOutcome.Works, d.Legacy);
            Assert.Null(vm.InPlaceConversion);
        }
        // s390 7.3 answers 249 with 1 (huge pages): not an attribute mask, still "not in kernel".
        var s390 = new InPlaceFakeKernel(FakeKernelKind.Released);
        s390.Sys.Caps[249] = 1;
        var (kvm2, vm2) = s390.Open(ProposedAbiTables.V7);
        using (kvm2) using (vm2)
        {
            var d = vm2.DetectInPlace()!;
            Assert.Equal(InPlaceVerdict.NotInKernel, d.Verdict);
            Assert.Contains(d.Signals, s => s.Answer.Contains("released capability"));
        }
        // A released capability that happens to answer 8 with no ioctl behind it: the signals disagree.
        var odd = new InPlaceFakeKernel(FakeKernelKind.Released);
        odd.Sys.Caps[250] = 8;
        var (kvm3, vm3) = odd.Open(ProposedAbiTables.V8Marked);
        using (kvm3) using (vm3)
        {
            Assert.Equal(InPlaceVerdict.SignalsDisagree, vm3.DetectInPlace()!.Verdict);
            Assert.Null(vm3.InPlaceConversion);
        }
    }

    [Theory]
    [InlineData(FakeKernelKind.V7)]
    [InlineData(FakeKernelKind.V8)]
    public void ParameterOffIsDisabledAndTheLegacyPathWorks(FakeKernelKind kind)
    {
        var k = new InPlaceFakeKernel(kind, enabled: false);
        var (kvm, vm) = k.Open(kind == FakeKernelKind.V7 ? ProposedAbiTables.V7 : ProposedAbiTables.V8Marked);
        using (kvm) using (vm)
        {
            var d = vm.DetectInPlace()!;
            Assert.Equal(InPlaceVerdict.Disabled, d.Verdict);
            Assert.Equal(LegacyAttributesOutcome.Works, d.Legacy);
            Assert.Null(vm.InPlaceConversion);
        }
    }

    [Fact]
    public void NoVmLevelIoctlIsEnotty()
    {
        var k = new InPlaceFakeKernel(FakeKernelKind.V8, vmAttributesIoctl: false);
        var (kvm, vm) = k.Open(ProposedAbiTables.V8Marked);
        using (kvm) using (vm)
            Assert.Equal(LegacyAttributesOutcome.Enotty, vm.DetectInPlace()!.Legacy);
    }

    [Fact]
    public void DetectionConvertsNothing()
    {
        var k = new InPlaceFakeKernel(FakeKernelKind.V8);
        var (kvm, vm) = k.Open(ProposedAbiTables.V8Marked);
        using (kvm) using (vm)
        {
            vm.DetectInPlace();
            var probe = Assert.Single(k.Issued);
            Assert.Equal(0UL, probe.Size); // size 0: refused before any effect
            Assert.Equal(-(int)Errno.EINVAL, probe.Result);
        }
    }
}
