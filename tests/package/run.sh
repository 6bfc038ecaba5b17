#!/usr/bin/env bash
# The package test: pack Kvm.Sdk into a local folder feed, restore it into fresh console projects, and check what a
# user meets: (1) bindings regenerated from a user header (the proposed in-place conversion overlay) appear and the
# experimental conversion API binds to them; (2) the analyzer's PRIVATE-on-in-place-VM error fires in user code;
# (3) the app runs in the `newest` kernel lane and creates a VM with guest_memfd.
# Writes "<passed> <failed> <skipped>" to $LANE_OUT/package.counts.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${LANE_OUT:-$ROOT/artifacts/test}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d /tmp/kvm-package.XXXXXX)
VERSION=0.1.0-pkgtest.$(date +%s)
pass=0; fail=0
ok() { echo "package: PASS $1"; pass=$((pass+1)); }
bad() { echo "package: FAIL $1"; fail=$((fail+1)); }
finish() { echo "$pass $fail 0" > "$OUT/package.counts"; echo "package test: $pass passed, $fail failed"; rm -rf "$W"; [ "$fail" = 0 ]; exit $?; }

# A version of its own (MinVer skipped), so the restore below can only take the package packed here.
echo "package: packing Kvm.Sdk $VERSION"
if ! dotnet pack "$ROOT/src/Sdk" -c Release -o "$W/feed" -p:MinVerSkip=true -p:Version="$VERSION" -nologo -v q > "$W/pack.log" 2>&1; then
  cat "$W/pack.log"; bad "dotnet pack"; finish
fi
NUPKG=$W/feed/Kvm.Sdk.$VERSION.nupkg
# (listed to a file first: `unzip | grep -q` under pipefail fails whenever grep stops reading early)
unzip -l "$NUPKG" > "$W/nupkg.txt" 2>&1
if grep -q 'analyzers/dotnet/cs/Kvm.Sdk.Generators.dll' "$W/nupkg.txt" && grep -q 'analyzers/dotnet/cs/Kvm.Sdk.Analyzers.dll' "$W/nupkg.txt" \
   && grep -q 'analyzers/dotnet/cs/Kvm.Sdk.Analyzers.CodeFixes.dll' "$W/nupkg.txt" && grep -q 'buildTransitive/Kvm.Sdk.targets' "$W/nupkg.txt" \
   && grep -q 'docs/diagnostics/KVM1006.md' "$W/nupkg.txt" \
   && grep -q 'lib/net10.0/Kvm.Sdk.dll' "$W/nupkg.txt" && grep -q 'lib/net10.0/Kvm.Sdk.xml' "$W/nupkg.txt"; then
  ok "package layout (library + XML docs, generator, analyzers, code fixes, help pages, build/buildTransitive targets)"
else cat "$W/nupkg.txt"; bad "package layout"; fi

# A project that consumes the package from the local feed (the machine's own NuGet sources stay in effect).
new_project() {
  local dir=$1
  mkdir -p "$dir"
  cat > "$dir/nuget.config" <<X
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><add key="kvm-local" value="$W/feed" /></packageSources>
</configuration>
X
  cat > "$dir/App.csproj" <<X
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable><AllowUnsafeBlocks>true</AllowUnsafeBlocks><InvariantGlobalization>true</InvariantGlobalization>
    <KvmUapiIncludeRoots>$ROOT/uapi-headers/proposed/inplace-conversion-v8;$ROOT/uapi-headers/7.3.4/{multiarch};$ROOT/uapi-headers/7.3.4</KvmUapiIncludeRoots>
    <KvmUapiEntries>linux/kvm_proposed.h</KvmUapiEntries>
    <KvmUapiNamespace>MyApp.Interop</KvmUapiNamespace>
    <KvmUapiProfile>7.3.4+inplace-conversion-v8</KvmUapiProfile>
    <KvmInPlaceConversion>true</KvmInPlaceConversion>
    <!-- KVM0006 (the overlay's capability 250 collides with 7.3's KVM_CAP_PPC_COMPAT_CAPS) is expected here. -->
    <NoWarn>\$(NoWarn);KVM0006</NoWarn>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Kvm.Sdk" Version="$VERSION" />
    <KvmUapiHeader Include="$ROOT/uapi-headers/7.3.4/**/*.h;$ROOT/uapi-headers/proposed/inplace-conversion-v8/**/*.h" />
  </ItemGroup>
</Project>
X
}

# (1) regenerated bindings + experimental API
new_project "$W/app"
cp "$ROOT/tests/package/app/Program.cs" "$W/app/"
if (cd "$W/app" && dotnet build -c Release -nologo -v q -p:EmitCompilerGeneratedFiles=true > "$W/app-build.log" 2>&1); then
  if grep -rq 'KVM_SET_MEMORY_ATTRIBUTES2 = new(0xC080AED2U' "$W/app/obj/Release/net10.0/generated"; then ok "bindings regenerated from the v8 overlay; experimental API binds to them"
  else bad "regenerated bindings lack KVM_SET_MEMORY_ATTRIBUTES2"; fi
else
  tail -30 "$W/app-build.log"; bad "consumer app build"
fi

# (2) the analyzer error in user code
new_project "$W/misuse"
cat > "$W/misuse/Program.cs" <<'X'
using Kvm;
using Kvm.Interop;
using var kvm = Kvm.KvmSystem.Open();
using var vm = kvm.CreateVm(VmType.X86SwProtected);
vm.MemoryAttributes!.Set(0x100000, 0x1000, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
X
(cd "$W/misuse" && dotnet build -c Release -nologo -v q > "$W/misuse-build.log" 2>&1)
if grep -q 'error KVM1001' "$W/misuse-build.log"; then ok "analyzer KVM1001 fires on PRIVATE through the VM with in-place conversion"
else grep -E 'error|warning' "$W/misuse-build.log" | head -5; bad "analyzer KVM1001 did not fire"; fi

# (3) the app in the newest kernel lane
if [ -f "$W/app/bin/Release/net10.0/App.dll" ]; then
  if "$ROOT/tests/kvm-guest/run.sh" --quiet --console "$W/console.log" -- dotnet "$W/app/bin/Release/net10.0/App.dll" > "$W/run.log" 2>&1 \
     && grep -q 'PACKAGE-APP: OK' "$W/console.log"; then ok "the app creates a VM with guest_memfd in the newest lane ($(grep -o 'PACKAGE-APP: OK.*' "$W/console.log" | head -1 | tr -d '\r'))"
  else tail -20 "$W/run.log"; grep -a 'PACKAGE-APP\|regenerated\|Exception' "$W/console.log" | head; bad "the app in the newest lane"; fi
else bad "the app in the newest lane (not built)"; fi
finish
