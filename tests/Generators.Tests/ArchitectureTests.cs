using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Kvm.Generators.Tests.Support;

namespace Kvm.Generators.Tests;

/// <summary>The six target descriptions: names and triplets, powerpc's _IOC layout (13-bit size, 3-bit direction)
/// and s390x's big-endian bitfields, on small header sets built from the vendored asm-generic headers.</summary>
public class ArchitectureTests
{
    [Theory]
    [InlineData("x86_64", "x86_64-linux-gnu")]
    [InlineData("aarch64", "aarch64-linux-gnu")]
    [InlineData("riscv64", "riscv64-linux-gnu")]
    [InlineData("s390x", "s390x-linux-gnu")]
    [InlineData("ppc64el", "powerpc64le-linux-gnu")]
    [InlineData("loongarch64", "loongarch64-linux-gnu")]
    public void Every_KVM_architecture_is_known(string name, string triplet)
    {
        var arch = TargetArch.Parse(name);
        Assert.NotNull(arch);
        Assert.Equal(triplet, arch!.Multiarch);
        Assert.Null(TargetArch.Parse("mips64"));
    }

    /// <summary>powerpc's asm/ioctl.h, as facts: these five numbers before asm-generic/ioctl.h.</summary>
    private const string PpcIoctl = "#define _IOC_SIZEBITS 13\n#define _IOC_DIRBITS 3\n#define _IOC_NONE 1U\n#define _IOC_READ 2U\n#define _IOC_WRITE 4U\n#include <asm-generic/ioctl.h>\n";

    private const string GenericIoctl = "#include <asm-generic/ioctl.h>\n";

    private const string Kvm = """
        #include <asm/ioctl.h>
        typedef unsigned char __u8;
        typedef unsigned long long __u64;
        struct kvm_regs { __u64 gpr[4]; };
        struct kvm_sync_regs { __u8 bpbc : 1; __u8 reserved : 7; __u8 next; };
        #define KVM_RUN _IO(0xAE, 0x80)
        #define KVM_GET_REGS _IOR(0xAE, 0x81, struct kvm_regs)
        #define KVM_SET_REGS _IOW(0xAE, 0x82, struct kvm_regs)
        """;

    private static AbiModel Build(TargetArch arch, string asmIoctl)
    {
        var generic = File.ReadAllText(Path.Combine(Repo.Headers, Repo.DefaultVersion, "asm-generic", "ioctl.h"));
        var files = new[]
        {
            new HeaderFile("/h/linux/kvm.h", Kvm),
            new HeaderFile($"/h/{arch.Multiarch}/asm/ioctl.h", asmIoctl),
            new HeaderFile("/h/asm-generic/ioctl.h", generic),
        };
        var model = AbiBuilder.Build(files, new AbiOptions(arch.Name, new[] { $"/h/{arch.Multiarch}", "/h" }.ToEquatableArray(), new[] { "linux/kvm.h" }.ToEquatableArray(), "arch-test"));
        Assert.DoesNotContain(model.Diagnostics, d => d.Severity == HeaderSeverity.Error);
        return model;
    }

    [Fact]
    public void Powerpc_ioctls_decode_with_a_13_bit_size_and_a_3_bit_direction()
    {
        var ppc = Build(TargetArch.Ppc64le, PpcIoctl);
        var run = ppc.Ioctls.Single(i => i.Name == "KVM_RUN");
        Assert.Equal(0x2000AE80UL, run.Value);   // _IOC_NONE is 1 << 29 on powerpc
        Assert.Equal(0, run.Direction);
        Assert.Equal(0, run.Size);
        var get = ppc.Ioctls.Single(i => i.Name == "KVM_GET_REGS");
        Assert.Equal(0x4020AE81UL, get.Value);
        Assert.Equal(2, get.Direction);           // read, not write
        Assert.Equal(32, get.Size);
        var set = ppc.Ioctls.Single(i => i.Name == "KVM_SET_REGS");
        Assert.Equal(0x8020AE82UL, set.Value);
        Assert.Equal(1, set.Direction);
        Assert.Equal(32, set.Size);
    }

    [Theory]
    [InlineData("x86_64")]
    [InlineData("arm64")]
    [InlineData("riscv64")]
    [InlineData("s390x")]
    [InlineData("loongarch64")]
    public void The_generic_ioctl_layout_has_a_14_bit_size(string name)
    {
        var model = Build(TargetArch.Parse(name)!, GenericIoctl);
        var get = model.Ioctls.Single(i => i.Name == "KVM_GET_REGS");
        Assert.Equal(0x8020AE81UL, get.Value);
        Assert.Equal(2, get.Direction);
        Assert.Equal(32, get.Size);
        Assert.Equal(0, model.Ioctls.Single(i => i.Name == "KVM_RUN").Direction);
    }

    [Theory]
    [InlineData("s390x", 7, 0)]
    [InlineData("x86_64", 0, 1)]
    [InlineData("riscv64", 0, 1)]
    public void Bitfields_are_numbered_from_the_most_significant_bit_on_big_endian_s390x(string name, int bpbc, int reserved)
    {
        var model = Build(TargetArch.Parse(name)!, GenericIoctl);
        var s = model.Structs.Single(x => x.Name == "kvm_sync_regs");
        Assert.Equal(bpbc, s.Members.Single(m => m.Name == "bpbc").BitOffset);
        Assert.Equal(reserved, s.Members.Single(m => m.Name == "reserved").BitOffset);
        Assert.Equal(2, s.Size);
    }
}
