using Kvm.Interop;

namespace Kvm.Tests.Arm64;

/// <summary>The arm64 encodings the SDK computes without a kernel: KVM_IRQ_LINE's irq field, ONE_REG ids of every
/// width, and the vCPU feature rules checked before KVM_ARM_VCPU_INIT.</summary>
public sealed class Arm64EncodingTests
{
    [Fact]
    public void Spi_encoding_is_type_1_and_the_intid()
    {
        var spi = Arm64IrqLine.Spi(33);
        Assert.Equal(0x0100_0021u, spi.Encoded);
        Assert.Equal(33, spi.Intid);
        Assert.Equal(0, spi.VcpuIndex);
        Assert.Equal("SPI 33", spi.ToString());
    }

    [Fact]
    public void Ppi_encoding_carries_the_vcpu_index_in_both_fields()
    {
        Assert.Equal(0x0203_0017u, Arm64IrqLine.Ppi(3, 23).Encoded);
        var far = Arm64IrqLine.Ppi(0x123, 27);
        Assert.Equal(0x1223_001bu, far.Encoded);       // vcpu2 = 1 (bits 31:28), vcpu = 0x23 (bits 23:16)
        Assert.Equal(0x123, far.VcpuIndex);
    }

    [Theory]
    [InlineData(31)]
    [InlineData(1020)]
    public void Spi_range_is_refused_by_name(int intid) =>
        Assert.Contains("SPI", Assert.Throws<ArgumentOutOfRangeException>(() => Arm64IrqLine.Spi(intid)).Message);

    [Theory]
    [InlineData(0, 15)]
    [InlineData(0, 32)]
    [InlineData(-1, 20)]
    [InlineData(4096, 20)]
    public void Ppi_ranges_are_refused(int vcpu, int intid) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Arm64IrqLine.Ppi(vcpu, intid));

    [Fact]
    public void One_reg_ids_of_each_width_match_the_kernel_layout()
    {
        Assert.Equal(0x6030_0000_0010_0040UL, Arm64Registers.Pc);        // regs.pc at byte 256
        Assert.Equal(0x6040_0000_0010_0054UL, Arm64Registers.V(0));      // fp_regs at byte 336, 128 bits
        Assert.Equal(0x6040_0000_0010_0058UL, Arm64Registers.V(1));
        Assert.Equal(0x6020_0000_0010_00d4UL, Arm64Registers.Fpsr);      // byte 848, 32 bits
        Assert.Equal(0x6020_0000_0010_00d5UL, Arm64Registers.Fpcr);
        Assert.Equal(8, VcpuFd.OneRegSize(Arm64Registers.Pc));
        Assert.Equal(16, VcpuFd.OneRegSize(Arm64Registers.V(31)));
        Assert.Equal(4, VcpuFd.OneRegSize(Arm64Registers.Fpsr));
        Assert.Throws<ArgumentOutOfRangeException>(() => Arm64Registers.V(32));
    }

    [Fact]
    public void Feature_rules_name_the_capability_and_the_pair()
    {
        static bool None(KvmCap _) => false;
        static bool All(KvmCap _) => true;
        Assert.Null(Arm64VcpuFeatureRules.Refusal(Arm64VcpuFeatures.PowerOff, None));
        Assert.Contains("KVM_CAP_ARM_PSCI_0_2", Arm64VcpuFeatureRules.Refusal(Arm64VcpuFeatures.Psci02, None));
        Assert.Contains("KVM_CAP_ARM_SVE", Arm64VcpuFeatureRules.Refusal(Arm64VcpuFeatures.Sve | Arm64VcpuFeatures.Psci02, c => c != KvmCap.KVM_CAP_ARM_SVE));
        Assert.Contains("KVM_CAP_ARM_PMU_V3", Arm64VcpuFeatureRules.Refusal(Arm64VcpuFeatures.PmuV3, None));
        Assert.Contains("or neither", Arm64VcpuFeatureRules.Refusal(Arm64VcpuFeatures.PtrAuthAddress, All));
        Assert.Null(Arm64VcpuFeatureRules.Refusal(Arm64VcpuFeatures.PtrAuthAddress | Arm64VcpuFeatures.PtrAuthGeneric, All));
        Assert.Contains("AArch32", Arm64VcpuFeatureRules.Refusal(Arm64VcpuFeatures.El1Aarch32 | Arm64VcpuFeatures.Sve, All));
        Assert.Contains("unknown", Arm64VcpuFeatureRules.Refusal((Arm64VcpuFeatures)(1u << 20), All));
    }
}
