
namespace Kvm.Tests.Cli;

/// <summary>#17: <c>kvmsdk abi dump</c> and <c>kvmsdk generate</c> on the vendored headers of the four architectures
/// beyond the typed SDK's two: from the embedded copy with <c>--arch</c>, and from include directories, where the
/// architecture follows from the multiarch directory.</summary>
public class CliAllArchitecturesTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("kvmsdk-arch-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Headers(string version) => Path.Combine(KvmsdkProcess.RepoRoot(), "uapi-headers", version);

    [Theory]
    [InlineData("riscv64", "6.1.192", "struct kvm_riscv_config")]
    [InlineData("s390x", "6.1.192", "struct kvm_s390_io_adapter")]
    [InlineData("ppc64le", "6.12.117", "struct kvm_ppc_smmu_info")]
    [InlineData("loongarch64", "7.3.4", "struct kvm_fpu")]
    public void Abi_dump_of_the_vendored_headers_takes_every_architecture(string arch, string version, string type)
    {
        var (rc, output) = Kvmsdk($"abi dump --version {version} --arch {arch}");
        Assert.True(rc == 0, output);
        Assert.Contains("# " + arch, output);
        Assert.Contains(type, output);
    }

    [Theory]
    [InlineData("riscv64-linux-gnu", "riscv64", "kvm_riscv_config")]
    [InlineData("s390x-linux-gnu", "s390x", "kvm_s390_io_adapter")]
    [InlineData("powerpc64le-linux-gnu", "ppc64le", "kvm_ppc_smmu_info")]
    [InlineData("loongarch64-linux-gnu", "loongarch64", "kvm_fpu")]
    public void Generate_from_a_multiarch_directory_infers_the_architecture(string triplet, string arch, string type)
    {
        var h = Headers("7.3.4");
        var (rc, output) = Kvmsdk($"generate --include {h}/{triplet} --include {h} --out {_tmp}/gen");
        Assert.True(rc == 0, output);
        Assert.Contains(arch + ": ", output);
        Assert.Contains(Directory.GetFiles($"{_tmp}/gen"), f => File.ReadAllText(f).Contains("struct " + type, StringComparison.Ordinal));
    }

    [Fact]
    public void An_architecture_a_version_lacks_is_an_error_naming_the_missing_header()
    {
        // loongarch64 has no KVM in 6.1 and no Debian package: uapi-headers/6.1.192/PROVENANCE says 'absent'.
        var (rc, output) = Kvmsdk("abi dump --version 6.1.192 --arch loongarch64");
        Assert.NotEqual(0, rc);
        Assert.Contains("asm/kvm.h", output);
    }

    private static (int Status, string Output) Kvmsdk(string commandLine) =>
        KvmsdkProcess.Run(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
