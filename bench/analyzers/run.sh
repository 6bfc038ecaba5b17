#!/usr/bin/env bash
# Measures what the Kvm.Sdk analyzers cost a consumer build.
#   bench/analyzers/run.sh [FILES=300] [RUNS=3]      (RUNS=0 only writes the consumer; profile.sh uses that)
# 1. builds Kvm.Sdk and Kvm.Sdk.Analyzers (Release);
# 2. generates a consumer project of FILES C# files that use the SDK (correct code, so no diagnostics: the steady
#    state of a real project) in $BENCH_DIR (default: $TMPDIR/kvm-analyzer-bench, outside the repo so that the
#    repo's Directory.Build.props do not apply);
# 3. rebuilds it RUNS times with the analyzers (-p:ReportAnalyzer=true) and RUNS times without, and prints the
#    median wall time of each, the analyzers' own execution time as the compiler reports it, and their share.
set -euo pipefail
FILES=${1:-300}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/kvm-analyzer-bench}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build "$ROOT/src/Analyzers" -c Release -v q -nologo >/dev/null
dotnet build "$ROOT/src/Sdk" -c Release -v q -nologo >/dev/null
SDK_DLL="$ROOT/src/Sdk/bin/Release/net10.0/Kvm.Sdk.dll"
ANALYZER_DLL="$ROOT/src/Analyzers/bin/Release/netstandard2.0/Kvm.Sdk.Analyzers.dll"

rm -rf "$DIR"; mkdir -p "$DIR/src"
cat > "$DIR/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <OutputType>Library</OutputType>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <AllowUnsafeBlocks>true</AllowUnsafeBlocks>
    <NoWarn>\$(NoWarn);KVMEXP001</NoWarn>
    <KvmUapiProfile>7.3.4</KvmUapiProfile>
  </PropertyGroup>
  <ItemGroup>
    <Reference Include="$SDK_DLL" />
    <Analyzer Include="$ANALYZER_DLL" Condition="'\$(KvmAnalyzers)' != 'false'" />
    <CompilerVisibleProperty Include="KvmInPlaceConversion;KvmUapiProfile" />
  </ItemGroup>
</Project>
XML
for i in $(seq 1 "$FILES"); do
cat > "$DIR/src/Vmm$i.cs" <<CS
using Kvm;
using Kvm.Interop;

namespace Consumer;

public sealed class Vmm$i : IDisposable
{
    private const ulong Size = 0x10000 * $(( (i % 7) + 1 ));
    private readonly KvmSystem _kvm;
    private readonly List<VcpuFd> _vcpus = new();
    private VmFd? _vm;

    public Vmm$i(string path) => _kvm = KvmSystem.Open(path);

    public VmFd Start(VmType type)
    {
        _vm = _kvm.CreateVm(type);
        for (var id = 0; id < $(( (i % 4) + 1 )); id++)
            _vcpus.Add(_vm.CreateVcpu(id));
        return _vm;
    }

    public void PrivateMemory(byte[] image)
    {
        using var vm = _kvm.CreateVm(VmType.X86SwProtected);
        if (vm.GuestMemfd is not { } feature || vm.Conversion is not { } conversion)
            return;
        using var gmem = feature.Create(Size, feature.SupportedFlags & GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
        using var shared = _kvm.AllocateHostMemory(Size);
        shared.Write(0, image);
        using var slot = vm.Memslots.Add(0, gmem, gmemOffset: 0, size: Size, shared: shared);
        gmem.Allocate(0, 0x1000 * $(( (i % 3) + 1 )));
        conversion.ToPrivate(0x1000, 0x1000);
        Console.WriteLine(\$"{slot} page {conversion.GetState(0x1000)}");
        conversion.ToShared(0x1000, 0x1000);
        gmem.PunchHole(0, 0x1000);
    }

    public GmemMapping? Mappable(VmFd vm)
    {
        if (vm.GuestMemfd is not { } f || !f.SupportedFlags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP))
            return null;
        var gmem = f.Create(Size, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP | GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED);
        try { return gmem.Map(); } finally { gmem.Dispose(); }
    }

    public int Raw(int vmFd)
    {
        if (Sys.Ioctl(vmFd, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_GUEST_MEMFD) <= 0)
            return -1;
        var arg = new kvm_create_guest_memfd { size = Size, flags = 0 };
        var region = new kvm_userspace_memory_region2 { slot = $(( i % 32 )), guest_phys_addr = 0x100000, memory_size = Size, flags = (uint)KvmMemFlags.KVM_MEM_GUEST_MEMFD };
        return Sys.Ioctl(vmFd, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref arg) + (int)region.slot;
    }

    public string Describe(IEnumerable<SlotHandle> slots) =>
        string.Join(", ", slots.Where(s => s.Size >= 0x1000).OrderBy(s => s.GuestPhysicalAddress).Select(s => \$"{s.Id}:{s.GuestPhysicalAddress:X}+{s.Size:X}"));

    public static int Checksum(ReadOnlySpan<byte> data)
    {
        var sum = 0;
        foreach (var b in data) sum = (sum * 31) ^ b;
        return sum + $i;
    }

    public void Dispose()
    {
        foreach (var v in _vcpus) v.Dispose();
        _vm?.Dispose();
        _kvm.Dispose();
    }
}
CS
done

dotnet restore "$DIR" -v q >/dev/null
[ "$RUNS" = 0 ] && { echo "consumer written to $DIR (RUNS=0: no builds)"; exit 0; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
build() { # $1 = true|false (analyzers), $2 = log; prints wall seconds
  local t0 t1
  t0=$(date +%s.%N)
  dotnet build "$DIR" --no-restore --no-incremental -nologo -v d -clp:PerformanceSummary \
    -p:KvmAnalyzers="$1" -p:ReportAnalyzer=true -p:TreatWarningsAsErrors=true >"$2" 2>&1 || { echo "build failed, see $2" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}
rm -f "$DIR"/*.times
# Alternate the two configurations so that background load hits both alike.
for r in $(seq 1 "$RUNS"); do
  build false "$DIR/without-$r.log" >> "$DIR/without.times"
  build true "$DIR/with-$r.log" >> "$DIR/with.times"
done
for r in $(seq 1 "$RUNS"); do
  L="$DIR/with-$r.log"
  { grep -E 'Total analyzer execution time' "$L" || true; } | head -1 | sed -E 's/.*: *([0-9.]+) seconds.*/\1/' >> "$DIR/all-analyzers.times"
  { grep -E '^\s+[0-9.<]+\s+[0-9<]+\s+Kvm\.Sdk\.Analyzers,' "$L" || true; } | head -1 | awk '{print $1}' | tr -d '<' >> "$DIR/kvm.times"
  { grep -E '^\s+[0-9]+ ms\s+Csc\s' "$L" || true; } | tail -1 | awk '{print $1}' >> "$DIR/csc-with.times"
  { grep -E '^\s+[0-9]+ ms\s+Csc\s' "$DIR/without-$r.log" || true; } | tail -1 | awk '{print $1}' >> "$DIR/csc-without.times"
done
WITH=$(median < "$DIR/with.times"); WITHOUT=$(median < "$DIR/without.times")
CSCW=$(median < "$DIR/csc-with.times"); CSCWO=$(median < "$DIR/csc-without.times")
KVM=$(median < "$DIR/kvm.times"); ALL=$(median < "$DIR/all-analyzers.times")
echo "consumer: $FILES files, $(cat "$DIR"/src/*.cs | wc -l) lines; $RUNS rebuilds per configuration (medians); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build wall time without Kvm.Sdk.Analyzers: ${WITHOUT} s (Csc task ${CSCWO} ms)"
echo "build wall time with Kvm.Sdk.Analyzers:    ${WITH} s (Csc task ${CSCW} ms)"
echo "all analyzers, compiler report:            ${ALL} s (summed over concurrent analyzer threads)"
echo "Kvm.Sdk.Analyzers, compiler report:        ${KVM} s"
awk -v k="$KVM" -v w="$WITH" -v c="$CSCW" 'BEGIN { if (c > 0) printf "Kvm.Sdk.Analyzers share: %.1f%% of build wall time, %.1f%% of the Csc task\n", 100*k/w, 100*k/(c/1000) }'
echo "per analyzer (run $RUNS):"
{ grep -E '^\s+[0-9.<]+\s+[0-9<]+\s+Kvm\.Analyzers\.' "$DIR/with-$RUNS.log" || true; } | sed -E 's/^\s+/  /'
echo "largest analyzer assemblies (run $RUNS):"
{ grep -E '^\s+[0-9.<]+\s+[0-9<]+\s+[A-Za-z.]+, Version=' "$DIR/with-$RUNS.log" || true; } | sed -E 's/^\s+/  /; s/, Version=.*//' | head -5
