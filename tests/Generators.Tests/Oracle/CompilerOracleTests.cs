using Kvm.Generators.Model;
using Xunit;
using Xunit.Abstractions;

namespace Kvm.Generators.Tests.Oracle;

/// <summary>
/// DESIGN.md decision 2, "the C compiler is the judge": for every vendored header version and every proposed
/// overlay on its base, for each of the six architectures the version carries (x86_64: gcc; arm64:
/// aarch64-linux-gnu-gcc, or clang-14 as a fallback; riscv64, s390x, ppc64le: Debian's cross gcc; loongarch64:
/// x86_64's gcc standing in, see <see cref="CCompiler.For"/>), every value the generator's ABI model claims must be
/// exactly what the compiler computes from the same headers.
/// </summary>
public sealed class CompilerOracleTests
{
    private readonly ITestOutputHelper _output;

    public CompilerOracleTests(ITestOutputHelper output) => _output = output;

    public static IEnumerable<object[]> Cases() => OracleCase.All().Select(c => new object[] { c.ToString() });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Model_values_agree_with_the_compiler(string id)
    {
        var c = OracleCase.Parse(id);
        var model = c.BuildModel(RepoRoot.Path);
        var mismatches = Oracle.Run(c, model, out var counts, out var compiler);
        _output.WriteLine($"{c} ({compiler}): {counts}");
        foreach (var n in counts.NotChecked) _output.WriteLine("  not checked: " + n);
        Assert.True(counts.Structs > 0 && counts.Constants > 0 && counts.Ioctls > 0, $"{c}: the model is empty: {Diagnostics(model)}");
        Assert.True(mismatches.Count == 0,
            $"{c}: {mismatches.Count} disagreement(s) between the model and {compiler}:\n  " + string.Join("\n  ", mismatches));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Model_constants_and_structs_are_exactly_what_C_defines(string id)
    {
        var c = OracleCase.Parse(id);
        var model = c.BuildModel(RepoRoot.Path);
        var macros = c.KvmFiles(RepoRoot.Path).SelectMany(f => MacroSetProbe.ObjectLikeMacros(File.ReadAllText(f)))
            .Distinct(StringComparer.Ordinal).ToList();
        var records = c.KvmFiles(RepoRoot.Path).SelectMany(f => MacroSetProbe.RecordDefinitions(File.ReadAllText(f)))
            .Distinct(StringComparer.Ordinal).ToList();
        var cAll = Oracle.CSet(c, macros.Concat(records).ToList(), out var unmapped, out var compiler);
        var cSet = new HashSet<string>(cAll.Where(n => !n.Contains(' ')), StringComparer.Ordinal);
        var cRecords = new HashSet<string>(cAll.Where(n => n.Contains(' ')), StringComparer.Ordinal);
        var kvmIncludeNames = new HashSet<string>(new[] { "linux/kvm.h", "asm/kvm.h", c.Entry }, StringComparer.Ordinal);
        var modelRecords = new HashSet<string>(model.Structs.Where(s => !ValueProbe.IsSynthetic(s) && kvmIncludeNames.Contains(s.File)).Select(s => s.CName), StringComparer.Ordinal);
        var recordsOnlyModel = modelRecords.Except(cRecords).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var recordsOnlyC = cRecords.Except(modelRecords).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var macroNames = new HashSet<string>(macros, StringComparer.Ordinal);
        var modelSet = new HashSet<string>(model.Constants.Select(k => k.Name).Where(macroNames.Contains), StringComparer.Ordinal);
        var onlyModel = modelSet.Except(cSet).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var onlyC = cSet.Except(modelSet).OrderBy(n => n, StringComparer.Ordinal).ToList();
        _output.WriteLine($"{c} ({compiler}): {macros.Count} object-like macros, {cSet.Count} integer constants in C, {modelSet.Count} in the model " +
            $"(+{model.Constants.Count - modelSet.Count} enumerators); {records.Count} record definitions, {cRecords.Count} complete in C, {modelRecords.Count} in the model");
        Assert.True(unmapped.Count == 0, $"{c}: compiler errors outside the probe lines (the headers themselves do not compile?):\n  " + string.Join("\n  ", unmapped.Take(40)));
        Assert.True(recordsOnlyModel.Count == 0 && recordsOnlyC.Count == 0,
            $"{c}: the model's structs differ from the records the KVM headers define completely in C.\n" +
            $"  in the model only ({recordsOnlyModel.Count}): {string.Join(", ", recordsOnlyModel)}\n" +
            $"  complete in C but missing from the model ({recordsOnlyC.Count}): {string.Join(", ", recordsOnlyC)}\n    " +
            string.Join("\n    ", model.Diagnostics.Where(d => recordsOnlyC.Any(n => d.Message.Contains(n, StringComparison.Ordinal))).Select(d => d.Message)));
        Assert.True(onlyModel.Count == 0 && onlyC.Count == 0,
            $"{c}: the model's constants differ from C's integer-constant macros.\n" +
            $"  in the model but not constants in C ({onlyModel.Count}): {string.Join(", ", onlyModel)}\n" +
            $"  constants in C but missing from the model ({onlyC.Count}): {string.Join(", ", onlyC)}\n" +
            $"  the model's notes on the missing ones:\n    " +
            string.Join("\n    ", model.Diagnostics.Where(d => onlyC.Any(n => d.Message.Contains("'" + n + "'", StringComparison.Ordinal))).Select(d => d.Message)));
    }

    /// <summary>The oracle must be able to fail: corrupt one value of each kind in a copy of a correct model and
    /// check that every corruption is reported, naming the value, the model's number and C's number.</summary>
    [Fact]
    public void Oracle_reports_a_corrupted_model()
    {
        // The default (newest) vendored version: it has every struct the corruptions below touch.
        var c = new OracleCase(File.ReadAllText(Path.Combine(RepoRoot.Path, "uapi-headers", "DEFAULT")).Trim(), "x86_64", null);
        var model = c.BuildModel(RepoRoot.Path);
        var clean = Oracle.Run(c, model, out _, out _);
        Assert.Empty(clean);

        var target = model.Structs.First(s => s.CName == "struct kvm_userspace_memory_region");
        var bitStruct = model.Structs.First(s => s.Members.Any(m => m.IsBitfield));
        var bit = bitStruct.Members.First(m => m.IsBitfield);
        var constant = model.Constants.First(k => k.Name == "KVM_API_VERSION");
        var ioctl = model.Ioctls.First(i => i.Name == "KVM_CREATE_VM");
        var kindConstant = model.Constants.First(k => k.Name == "KVM_CAP_IRQCHIP");
        var arrayStruct = model.Structs.First(s => s.CName == "struct kvm_userspace_memory_region2");
        var array = arrayStruct.Members.First(m => m.Name == "pad2");

        var corrupted = model with
        {
            Structs = model.Structs.Select(s =>
                ReferenceEquals(s, target) ? s with { Size = s.Size + 8 }
                : ReferenceEquals(s, arrayStruct) ? s with { Members = s.Members.Select(m => ReferenceEquals(m, array) ? m with { Count = m.Count + 1 } : m).ToEquatableArray() }
                : ReferenceEquals(s, bitStruct) ? s with { Members = s.Members.Select(m => ReferenceEquals(m, bit) ? m with { BitOffset = m.BitOffset + 1 } : m).ToEquatableArray() }
                : s).ToEquatableArray(),
            Constants = model.Constants.Select(k =>
                ReferenceEquals(k, constant) ? k with { Bits = k.Bits + 1 }
                : ReferenceEquals(k, kindConstant) ? k with { Kind = Parsing.CIntKind.ULong }
                : k).ToEquatableArray(),
            Ioctls = model.Ioctls.Select(i => ReferenceEquals(i, ioctl) ? i with { Value = i.Value ^ 0x40000000 } : i).ToEquatableArray(),
        };
        var reported = Oracle.Run(c, corrupted, out _, out _);
        foreach (var r in reported) _output.WriteLine(r);

        Assert.Contains(reported, r => r.StartsWith("sizeof(struct kvm_userspace_memory_region): model 40, C 32", StringComparison.Ordinal));
        Assert.Contains(reported, r => r.StartsWith($"{bitStruct.CName}.{bit.Name} (bitfield): model bit {bit.Offset * 8 + bit.BitOffset + 1}", StringComparison.Ordinal));
        Assert.Contains(reported, r => r == $"KVM_API_VERSION: model 0x{constant.Bits + 1:X}, C 0x{constant.Bits:X}");
        Assert.Contains(reported, r => r == "type of KVM_CAP_IRQCHIP: model unsigned long, C int");
        Assert.Contains(reported, r => r.StartsWith("ioctl KVM_CREATE_VM: model 0x", StringComparison.Ordinal));
        Assert.Contains(reported, r => r == $"element count of struct kvm_userspace_memory_region2.pad2: model {array.Count + 1}, C {array.Count}");
        Assert.Equal(6, reported.Count);
    }

    /// <summary>The same on the targets whose encoding differs from x86_64's: s390x's .rodata is big-endian and its
    /// bitfields start at the most significant bit; ppc64le's ioctl numbers have a 3-bit direction. A bitfield one
    /// bit off, a constant and an ioctl number must each be reported, in the target's terms.</summary>
    [Theory]
    [InlineData("s390x")]
    [InlineData("ppc64le")]
    [InlineData("riscv64")]
    public void Oracle_reports_a_corrupted_model_on_another_architecture(string arch)
    {
        var c = new OracleCase(File.ReadAllText(Path.Combine(RepoRoot.Path, "uapi-headers", "DEFAULT")).Trim(), arch, null);
        var model = c.BuildModel(RepoRoot.Path);
        Assert.Empty(Oracle.Run(c, model, out _, out _));

        var bitStruct = model.Structs.FirstOrDefault(s => s.Members.Any(m => m.IsBitfield));
        var bit = bitStruct?.Members.First(m => m.IsBitfield);
        var constant = model.Constants.First(k => k.Name == "KVM_API_VERSION");
        var ioctl = model.Ioctls.First(i => i.Name == "KVM_CREATE_VCPU");
        var corrupted = model with
        {
            Structs = model.Structs.Select(s => ReferenceEquals(s, bitStruct)
                ? s with { Members = s.Members.Select(m => ReferenceEquals(m, bit) ? m with { BitOffset = m.BitOffset ^ 1 } : m).ToEquatableArray() }
                : s).ToEquatableArray(),
            Constants = model.Constants.Select(k => ReferenceEquals(k, constant) ? k with { Bits = k.Bits + 1 } : k).ToEquatableArray(),
            Ioctls = model.Ioctls.Select(i => ReferenceEquals(i, ioctl) ? i with { Value = i.Value ^ 0x20000000 } : i).ToEquatableArray(),
        };
        var reported = Oracle.Run(c, corrupted, out _, out _);
        foreach (var r in reported) _output.WriteLine(r);
        Assert.Contains(reported, r => r == $"KVM_API_VERSION: model 0x{constant.Bits + 1:X}, C 0x{constant.Bits:X}");
        Assert.Contains(reported, r => r == $"ioctl KVM_CREATE_VCPU: model 0x{ioctl.Value ^ 0x20000000:X}, C 0x{ioctl.Value:X}");
        if (arch == "s390x")
        {
            // s390x's KVM headers have bitfields (struct kvm_s390_... bpbc, ap, ap_intr): this is the big-endian check.
            Assert.NotNull(bit);
            Assert.Contains(reported, r => r.StartsWith($"{bitStruct!.CName}.{bit!.Name} (bitfield): model bit {bit.Offset * 8 + (bit.BitOffset ^ 1)}", StringComparison.Ordinal));
        }
        Assert.Equal(bit is null ? 2 : 3, reported.Count);
    }

    private static string Diagnostics(AbiModel model) => string.Join("\n", model.Diagnostics.Select(d => d.Message));
}

/// <summary>Runs the probes for one case.</summary>
internal static class Oracle
{
    public static List<string> Run(OracleCase c, AbiModel model, out OracleCounts counts, out string compilerName)
    {
        var compiler = CCompiler.For(c.Target);
        compilerName = compiler.Description;
        var probe = ValueProbe.Generate(model, c.Entry);
        counts = probe.Counts;
        var dir = Directory.CreateTempSubdirectory("kvm-oracle-");
        try
        {
            var result = compiler.Compile(probe.Source, c.IncludeRoots(RepoRoot.Path), dir.FullName, "kvm_oracle_values", "-w", "-O0");
            if (!result.Ok)
                return new List<string> { $"the probe does not compile with {compiler.Description}:\n" + Head(result.Errors, 80) };
            return probe.Compare(compiler.ReadRodata(result.ObjectFile), c.Target.BigEndian);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static HashSet<string> CSet(OracleCase c, IReadOnlyList<string> names, out List<string> unmapped, out string compilerName)
    {
        var compiler = CCompiler.For(c.Target);
        compilerName = compiler.Description;
        var source = MacroSetProbe.Source(c.Entry, names, out var lineToName);
        var dir = Directory.CreateTempSubdirectory("kvm-oracle-set-");
        try
        {
            var extra = new List<string> { "-w", "-fsyntax-only" };
            if (!compiler.IsClang) extra.AddRange(new[] { "-fmax-errors=0", "-ftrack-macro-expansion=0" });
            else extra.Add("-ferror-limit=0");
            var result = compiler.Compile(source, c.IncludeRoots(RepoRoot.Path), dir.FullName, "kvm_oracle_set", extra.ToArray());
            return MacroSetProbe.Evaluate(result, lineToName, names, out unmapped);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Head(string text, int lines) => string.Join("\n", text.Split('\n').Take(lines));
}
