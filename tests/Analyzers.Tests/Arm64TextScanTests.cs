using Kvm.Analyzers.Tests.Support;
using Microsoft.CodeAnalysis.Text;

namespace Kvm.Analyzers.Tests;

/// <summary>KVM1013's cheap first question, "does this file mention Arm64 at all?", answered by scanning the source text
/// in chunks: a mention must be found wherever it falls, across a chunk boundary included.</summary>
public class Arm64TextScanTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(4090)]
    [InlineData(4091)]
    [InlineData(4092)]
    [InlineData(4093)]
    [InlineData(4094)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(8190)]
    [InlineData(10000)]
    public void A_mention_is_found_at_any_offset(int offset)
    {
        var text = new string('x', offset) + "VmType.Arm64Default" + new string('y', 5000);
        Assert.True(Arm64GmemMmapRule.Contains(SourceText.From(text), "Arm64"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Arm6")]
    [InlineData("arm64 ARM64 Arm_64")]
    public void Text_without_the_word_is_not_a_mention(string text) =>
        Assert.False(Arm64GmemMmapRule.Contains(SourceText.From(text + new string(' ', 9000) + "Arm6"), "Arm64"));

    [Fact]
    public Task An_arm64_vm_type_far_into_a_long_file_is_still_seen() => Verify.Analyzer<Arm64GmemMmapRule>(
        "// " + new string('-', 6000) + "\n" + """
        class C
        {
            void M(KvmSystem kvm)
            {
                using var vm = kvm.CreateVm(VmType.Arm64Default);
                using var a = vm.GuestMemfd!.Create(0x200000);
                using var sa = vm.Memslots.Add(0, {|KVM1013:a|}, 0, 0x200000);
            }
        }
        """);
}
