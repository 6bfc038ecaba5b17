using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Kvm.Generators.Tests.Support;
using Xunit.Abstractions;

namespace Kvm.Generators.Tests;

/// <summary>The structs compiled into Kvm.Sdk.dll, as the runtime lays them out, against the model the C compiler
/// vouched for: Unsafe.SizeOf and every field offset.</summary>
public class RuntimeLayoutTests
{
    private readonly ITestOutputHelper _output;

    public RuntimeLayoutTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData("x86_64")]
    [InlineData("arm64")]
    public void Every_generated_struct_has_the_C_size_and_offsets(string archName)
    {
        var arch = TargetArch.Parse(archName)!;
        var model = Repo.Build(Repo.DefaultVersion, arch);
        var asm = typeof(Kvm.Interop.Sys).Assembly;
        var sizeOf = typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!;
        int structs = 0, fields = 0;
        var errors = new List<string>();
        foreach (var s in model.Structs)
        {
            var type = asm.GetType($"Kvm.Interop.{arch.NamespaceSuffix}.{s.Name}") ?? asm.GetType($"Kvm.Interop.{s.Name}");
            if (type is null) { errors.Add($"{s.Name}: no generated type"); continue; }
            int size = (int)sizeOf.MakeGenericMethod(type).Invoke(null, null)!;
            // C allows empty structs (size 0); a C# struct has at least one byte.
            if (size != Math.Max(1, s.Size)) errors.Add($"{s.Name}: Unsafe.SizeOf = {size}, C sizeof = {s.Size}");
            structs++;
            foreach (var m in s.Members.Where(m => !m.IsBitfield && !m.IsFlexible && m.Size > 0))
            {
                var field = type.GetField(m.Name, BindingFlags.Public | BindingFlags.Instance) ?? type.GetField(m.Name + "_", BindingFlags.Public | BindingFlags.Instance);
                if (field is null) { errors.Add($"{s.Name}.{m.Name}: no field"); continue; }
                long offset = (long)Marshal.OffsetOf(type, field.Name);
                if (offset != m.Offset) errors.Add($"{s.Name}.{m.Name}: offset {offset}, C says {m.Offset}");
                fields++;
            }
        }
        _output.WriteLine($"{arch.Name}: {structs} structs and {fields} field offsets checked at run time");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.True(structs > 100, $"only {structs} structs checked");
    }

    [Fact]
    public void Ioctl_requests_carry_the_size_of_their_argument_type()
    {
        var x86 = Kvm.Interop.X86_64.ArchIoctls.KVM_GET_REGS;
        Assert.Equal((uint)Unsafe.SizeOf<Kvm.Interop.X86_64.kvm_regs>(), Kvm.Interop.IoctlFormat.Size(x86.Value));
        var arm = Kvm.Interop.Arm64.ArchIoctls.KVM_GET_REGS;
        Assert.Equal((uint)Unsafe.SizeOf<Kvm.Interop.Arm64.kvm_regs>(), Kvm.Interop.IoctlFormat.Size(arm.Value));
        Assert.Equal(0xC040AED4u, (uint)Kvm.Interop.KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value);
        Assert.Equal("KVM_CREATE_GUEST_MEMFD", Kvm.Interop.KvmIoctls.KVM_CREATE_GUEST_MEMFD.Name);
    }
}
