using Kvm.Generators.Emit;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Kvm.Generators.Tests.Support;

namespace Kvm.Generators.Tests;

/// <summary>The emitted C# for representative shapes, compared with checked-in approved files.</summary>
public class GoldenTests
{
    private const string Snippet = """
        #ifndef SNIPPET_H
        #define SNIPPET_H
        #include <linux/types.h>
        #include <linux/ioctl.h>
        #include <linux/stddef.h>

        #define SNIPPET_IO 0xAE

        /* Nested anonymous unions and structs, a named anonymous member, and an array of records. */
        struct snippet_exit {
            __u32 reason;
            __u32 pad;
            union {
                struct {
                    __u8 direction;
                    __u8 size;
                    __u16 port;
                } io;
                struct {
                    union {
                        __u64 gpa;
                        __u32 gpa_lo;
                    };
                    __u64 size;
                };
                char padding[64];
            };
            struct snippet_pair { __u32 a, b; } pairs[2];
        };

        /* Flexible arrays in both spellings. */
        struct snippet_list {
            __u32 count;
            __u32 pad;
            __u64 entries[];
        };
        struct snippet_flex {
            __u32 nr;
            __u32 flags;
            union {
                __DECLARE_FLEX_ARRAY(__u8, bytes);
                __DECLARE_FLEX_ARRAY(__u64, words);
            };
        };

        /* Bitfields, packed and aligned layouts. */
        struct snippet_bits {
            __u8 mode:3;
            __u8 enabled:1;
            __u8 reserved:4;
            __u16 vector:12;
        };
        struct snippet_packed {
            __u8 tag;
            __u64 value;
        } __attribute__((packed));
        struct snippet_aligned {
            __u8 tag;
            __aligned_u64 value;
            __u8 after __attribute__((aligned(16)));
        };

        /* One ioctl of each direction, and constants of each C type. */
        #define SNIPPET_RESET        _IO(SNIPPET_IO, 0x00)
        #define SNIPPET_GET_LIST     _IOR(SNIPPET_IO, 0x01, struct snippet_list)
        #define SNIPPET_SET_EXIT     _IOW(SNIPPET_IO, 0x02, struct snippet_exit)
        #define SNIPPET_XCHG_BITS    _IOWR(SNIPPET_IO, 0x03, struct snippet_bits)
        #define SNIPPET_SET_WORD     _IOW(SNIPPET_IO, 0x04, __u64)
        #define SNIPPET_INT          -12
        #define SNIPPET_UNSIGNED     0xfffffff0
        #define SNIPPET_UL           (1UL << 40)
        #define SNIPPET_ULL          (1ULL << 63)
        #define SNIPPET_SIZE         sizeof(struct snippet_exit)

        enum snippet_mode { SNIPPET_MODE_A, SNIPPET_MODE_B = 5, SNIPPET_MODE_C };
        #endif
        """;

    private static AbiModel SnippetModel(TargetArch arch)
    {
        var version = Path.Combine(Repo.Headers, Repo.DefaultVersion);
        var files = Repo.Load(version).Append(new HeaderFile("/snippets/snippet.h", Snippet));
        var options = new AbiOptions(arch.Name, new[] { "/snippets", Path.Combine(version, arch.Multiarch), version }.ToEquatableArray(),
            new[] { "snippet.h" }.ToEquatableArray(), "snippet");
        return AbiBuilder.Build(files, options);
    }

    private static string Emitted(IReadOnlyList<AbiModel> models, string hint) =>
        CSharpEmitter.Emit(models, new EmitOptions("Snippet.Interop", false)).Single(s => s.HintName == hint).Text;

    [Fact]
    public void Snippet_model_has_no_warnings()
    {
        var model = SnippetModel(TargetArch.X86_64);
        Assert.DoesNotContain(model.Diagnostics, d => d.Severity != HeaderSeverity.Info);
    }

    [Fact]
    public void Snippet_structs() =>
        Approvals.Verify(Emitted(new[] { SnippetModel(TargetArch.X86_64), SnippetModel(TargetArch.Arm64) }, "Snippet.Interop.Structs.g.cs"), "snippet-structs");

    [Fact]
    public void Snippet_ioctls_of_each_direction() =>
        Approvals.Verify(Emitted(new[] { SnippetModel(TargetArch.X86_64), SnippetModel(TargetArch.Arm64) }, "Snippet.Interop.Ioctls.g.cs"), "snippet-ioctls");

    [Fact]
    public void Snippet_constants_keep_their_C_types() =>
        Approvals.Verify(Emitted(new[] { SnippetModel(TargetArch.X86_64), SnippetModel(TargetArch.Arm64) }, "Snippet.Interop.Constants.g.cs"), "snippet-constants");

    [Fact]
    public void Kvm_run_for_x86_64()
    {
        var models = new[] { Repo.Build(Repo.DefaultVersion, TargetArch.X86_64), Repo.Build(Repo.DefaultVersion, TargetArch.Arm64) };
        var text = Emitted(models, "Snippet.Interop.X86_64.Structs.g.cs");
        Approvals.Verify(ExtractType(text, "kvm_run"), "kvm_run-x86_64");
    }

    [Fact]
    public void Guest_memfd_structs_are_common_to_both_architectures()
    {
        var models = new[] { Repo.Build(Repo.DefaultVersion, TargetArch.X86_64), Repo.Build(Repo.DefaultVersion, TargetArch.Arm64) };
        var text = Emitted(models, "Snippet.Interop.Structs.g.cs");
        Approvals.Verify(ExtractType(text, "kvm_create_guest_memfd") + ExtractType(text, "kvm_userspace_memory_region2") + ExtractType(text, "kvm_memory_attributes"),
            "guest-memfd-structs");
    }

    /// <summary>The doc comment, attributes and body of one generated struct.</summary>
    private static string ExtractType(string text, string name)
    {
        var lines = text.Split('\n');
        int decl = Array.FindIndex(lines, l => l == $"public partial struct {name}");
        Assert.True(decl >= 0, $"struct {name} not emitted");
        int start = decl;
        while (start > 0 && (lines[start - 1].StartsWith("///") || lines[start - 1].StartsWith("["))) start--;
        int end = Array.FindIndex(lines, decl, l => l == "}");
        return string.Join("\n", lines[start..(end + 1)]) + "\n";
    }
}
