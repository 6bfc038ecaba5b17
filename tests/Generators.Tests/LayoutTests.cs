using Kvm.Generators.Model;
using Kvm.Generators.Parsing;
using Xunit;

namespace Kvm.Generators.Tests;

/// <summary>Focused layout rules, each found by the compiler oracle (Oracle/CompilerOracleTests).</summary>
public sealed class LayoutTests
{
    private static AbiModel Build(string kvmH, string arch = "arm64") =>
        AbiBuilder.Build(new[] { new HeaderFile("/inc/linux/kvm.h", kvmH) },
            new AbiOptions(arch, new[] { "/inc" }.ToEquatableArray(), new[] { "linux/kvm.h" }.ToEquatableArray(), "test"));

    /// <summary>GCC on both LP64 targets: __int128 is 16 bytes, 16-aligned; __int128_t/__uint128_t are builtin
    /// typedefs (arm64's struct user_fpsimd_state, hence struct kvm_regs and KVM_GET_REGS, uses __uint128_t before
    /// 6.13 and __u128 = unsigned __int128 after).</summary>
    [Theory]
    [InlineData("arm64")]
    [InlineData("x86_64")]
    public void Int128_is_16_bytes_and_16_aligned_with_builtin_typedefs(string arch)
    {
        var model = Build("""
            typedef unsigned __int128 __u128 __attribute__((aligned(16)));
            struct kvm_fp { __uint128_t v[2]; unsigned int fpsr; };
            struct kvm_q { char c; __u128 q; __int128_t s; signed __int128 t; };
            #define KVM_Q_SIZE sizeof(struct kvm_q)
            #define KVM_FP_SIZE sizeof(struct kvm_fp)
            """, arch);
        var fp = model.Structs.Single(s => s.Name == "kvm_fp");
        Assert.Equal((48L, 16L), (fp.Size, fp.Align));
        Assert.Equal(32L, fp.Members.Single(m => m.Name == "fpsr").Offset);
        var q = model.Structs.Single(s => s.Name == "kvm_q");
        Assert.Equal(new[] { 0L, 16L, 32L, 48L }, q.Members.Select(m => m.Offset));
        Assert.Equal((64L, 16L), (q.Size, q.Align));
        Assert.Equal(64UL, model.Constants.Single(c => c.Name == "KVM_Q_SIZE").Bits);
        Assert.Equal(CIntKind.ULong, model.Constants.Single(c => c.Name == "KVM_FP_SIZE").Kind);
    }

    /// <summary>A 128-bit constant has no 64-bit C type: the model leaves it out with a note instead of typing it
    /// long long (C's _Generic would say __int128).</summary>
    [Fact]
    public void A_128_bit_constant_is_not_given_a_64_bit_type()
    {
        var model = Build("""
            #define KVM_BIG_BIT ((unsigned __int128)1 << 3)
            #define KVM_SMALL_BIT ((unsigned long long)1 << 3)
            """);
        Assert.DoesNotContain(model.Constants, c => c.Name == "KVM_BIG_BIT");
        Assert.Contains(model.Diagnostics, d => d.Message.Contains("'KVM_BIG_BIT'", StringComparison.Ordinal) && d.Message.Contains("128-bit", StringComparison.Ordinal));
        Assert.Equal(8UL, model.Constants.Single(c => c.Name == "KVM_SMALL_BIT").Bits);
    }
}
