using System.Collections.Concurrent;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Kvm.Generators.Tests.Support;
using Xunit.Abstractions;

namespace Kvm.Generators.Tests.Fuzz;

/// <summary>
/// Seeded, bounded fuzzing of the whole model pipeline against gcc: mutants of the vendored x86_64 kvm.h plus the
/// <see cref="HostileShapes"/>, each modelled on a thread with a small stack under a time limit and judged by
/// <c>gcc -fsyntax-only</c>. No crash, no hang, and every mutant gcc rejects gets an error diagnostic. CI runs
/// 1,000 mutants; <c>KVM_FUZZ_MUTANTS=20000 KVM_FUZZ_SEED=n</c> runs more by hand (<c>KVM_FUZZ_SCALE</c> grows
/// the hostile shapes).
/// </summary>
public class HeaderFuzzTests
{
    private readonly ITestOutputHelper _output;

    public HeaderFuzzTests(ITestOutputHelper output) => _output = output;

    /// <summary>The stack of the thread each mutant is modelled on: a third of a thread pool thread's 1.5 MiB.</summary>
    public const int SmallStack = 512 * 1024;

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;

    [Fact]
    public void Mutated_and_hostile_headers_never_crash_hang_or_pass_where_gcc_refuses()
    {
        int mutants = Env("KVM_FUZZ_MUTANTS", 1000), seed = Env("KVM_FUZZ_SEED", 17), scale = Env("KVM_FUZZ_SCALE", 1);
        var perMutant = TimeSpan.FromSeconds(Env("KVM_FUZZ_SECONDS", 10));
        var version = Repo.DefaultVersion;
        var files = Repo.Load(Path.Combine(Repo.Headers, version));
        var kvm = files.Single(f => f.Path.EndsWith("/linux/kvm.h", StringComparison.Ordinal) && !f.Path.Contains("-linux-gnu", StringComparison.Ordinal));
        var others = files.Where(f => f != kvm).ToList();
        var options = Repo.Options(version, TargetArch.X86_64);
        var gccRoots = new[] { Path.Combine(Repo.Headers, version, TargetArch.X86_64.Multiarch), Path.Combine(Repo.Headers, version) };
        var mutator = new HeaderMutator(kvm.Text, seed, HostileShapes.All(scale));
        var work = Path.Combine(Path.GetTempPath(), $"kvm-fuzz-{Environment.ProcessId}");

        var outcomes = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentBag<string>();
        var started = DateTime.UtcNow;
        try
        {
            Parallel.For(0, mutants, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                var (kind, text) = mutator.Mutant(i);
                var ours = ModelOnSmallStack(others.Append(new HeaderFile(kvm.Path, text)), options, perMutant);
                var dir = Path.Combine(work, "m" + i);
                Directory.CreateDirectory(Path.Combine(dir, "linux"));
                File.WriteAllText(Path.Combine(dir, "linux", "kvm.h"), text);
                var gcc = GccVerdict.Judge(dir, gccRoots, perMutant);
                Directory.Delete(dir, recursive: true);

                string outcome;
                if (ours.Hung) outcome = "HANG";
                else if (ours.Crash is not null) outcome = "CRASH";
                else if (gcc is null) outcome = ours.Rejected ? "gcc-timeout, error" : "gcc-timeout, accepted";
                else if (!gcc.Value.Accepted) outcome = ours.Rejected ? "both reject" : "MISSED (gcc rejects, no error)";
                else outcome = ours.Rejected ? "stricter (error, gcc accepts)" : "both accept";
                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                if (outcome is "HANG" or "CRASH" || outcome.StartsWith("MISSED", StringComparison.Ordinal))
                    failures.Add($"mutant {i} ({kind}) {outcome}: {ours.Crash ?? ""} gcc: {gcc?.FirstError}");
            });
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }

        var summary = $"header fuzz: {mutants} mutants (seed {seed}, scale {scale}) in {(DateTime.UtcNow - started).TotalSeconds:F0} s: " +
            string.Join(", ", outcomes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"));
        _output.WriteLine(summary);
        Console.WriteLine(summary);
        foreach (var f in failures.Take(20)) _output.WriteLine(f);
        Assert.True(failures.IsEmpty, summary + "\n" + string.Join("\n", failures.OrderBy(f => f, StringComparer.Ordinal).Take(20)));
        Assert.True(outcomes.GetValueOrDefault("both reject") > 0 && outcomes.GetValueOrDefault("both accept") > 0, summary);
    }

    internal sealed record Verdict(bool Rejected, bool Hung, string? Crash, AbiModel? Model);

    /// <summary>Builds the model on a fresh thread with <see cref="SmallStack"/>; a thread still running after the
    /// limit is a hang (left behind as a background thread, the run goes on).</summary>
    internal static Verdict ModelOnSmallStack(IEnumerable<HeaderFile> headers, AbiOptions options, TimeSpan limit)
    {
        AbiModel? model = null;
        Exception? thrown = null;
        var thread = new Thread(() =>
        {
            try { model = AbiBuilder.Build(headers, options); }
            catch (Exception ex) { thrown = ex; }
        }, SmallStack) { IsBackground = true };
        thread.Start();
        if (!thread.Join(limit)) return new Verdict(false, true, null, null);
        if (thrown is not null) return new Verdict(false, false, $"{thrown.GetType().Name}: {thrown.Message}", null);
        var internalError = model!.Diagnostics.FirstOrDefault(d => d.Id == DiagnosticIds.InternalError);
        if (internalError is not null) return new Verdict(false, false, internalError.Message, model);
        return new Verdict(model.Diagnostics.Any(d => d.Severity == HeaderSeverity.Error), false, null, model);
    }
}
