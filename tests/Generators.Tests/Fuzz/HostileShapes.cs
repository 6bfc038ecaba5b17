using System.Text;

namespace Kvm.Generators.Tests.Fuzz;

/// <summary>Header fragments built to crash, hang or fool a C-header reader: deep declarators and expressions,
/// overflowing sizes, bad alignments, duplicate members, enum overflow, lexical junk, macro blow-ups. Each is
/// valid or invalid C by construction; the fuzz test asks gcc which, rather than trusting this list.</summary>
internal static class HostileShapes
{
    /// <param name="scale">1 for the fuzz run (sizes gcc answers in well under a second), larger by hand.</param>
    public static IReadOnlyList<(string Name, string Text)> All(int scale = 1) => new (string, string)[]
    {
        ("array-dimensions", "struct fz_dims { char x" + Repeat("[1]", 2000 * scale) + "; };\n"),
        ("pointer-chain", "struct fz_ptrs { char " + new string('*', 5000 * scale) + "p; };\n"),
        ("grouped-declarator", "struct fz_group { char " + new string('(', 100) + "x" + new string(')', 100) + "; };\n"),
        ("deep-parentheses", "struct fz_parens { char x[" + new string('(', 3000) + "1" + new string(')', 3000) + "]; };\n"),
        ("conditional-chain", "struct fz_cond { char x[" + Repeat("1 ? 1 : ", 3000) + "1]; };\n"),
        ("unary-chain", "struct fz_unary { char x[" + Repeat("- ", 3000) + "1 + 3001]; };\n"),
        ("array-size-overflow", "struct fz_big { unsigned long long x[1ULL << 61]; };\n"),
        ("struct-too-large", "struct fz_huge { char a[1ULL << 62]; char b[1ULL << 62]; char c[1ULL << 62]; };\n"),
        ("aligned-3", "struct fz_a3 { int x __attribute__((aligned(3))); };\n"),
        ("aligned-negative", "struct fz_an { int x __attribute__((aligned(-8))); };\n"),
        ("aligned-2^32", "struct fz_ab { int x __attribute__((aligned(0x100000000))); };\n"),
        ("aligned-0", "struct fz_a0 { int x __attribute__((aligned(0))); };\n"),
        ("duplicate-member", "struct fz_dup { int x; long x; };\n"),
        ("duplicate-through-anonymous", "struct fz_dupa { int x; union { int y; struct { int x; }; }; };\n"),
        ("enum-overflow", "enum fz_e { FZ_MAX = 0xffffffffffffffffULL, FZ_AFTER };\n"),
        ("unterminated-comment", "/* this comment never ends\n"),
        ("unknown-type", "struct fz_unk { fz_not_a_type x; };\n"),
        ("unknown-type-top-level", "fz_not_a_type fz_var;\n"),
        ("control-byte", "struct fz_ctl { int x; \u0001 };\n"),
        ("bitfield-too-wide", "struct fz_bits { unsigned int x : 33; };\n"),
        ("flexible-not-last", "struct fz_flex { int n; char data[]; int after; };\n"),
        ("self-doubling-defines", Doubling(22)),
        ("parenthesised-chain", Chain(150 * scale, parenthesised: true)),
        ("long-parenthesised-chain", Chain(10_000 * scale, parenthesised: true, use: 150)),
        ("bare-chain", Chain(300 * scale, parenthesised: false)),
        ("typedef-chain", TypedefChain(3000 * scale)),
        ("redefined-struct", "struct fz_twice { int a; };\nstruct fz_twice { long b; };\n"),
        ("incomplete-member", "struct fz_inc { struct fz_never_defined x; };\n"),
        ("void-member", "struct fz_void { void x; };\n"),
        ("invalid-directive", "#fz_directive\n"),
        ("negative-array", "struct fz_neg { char x[-1]; };\n"),
    };

    private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

    private static string Doubling(int n)
    {
        var sb = new StringBuilder("#define FZ_D0 1\n");
        for (int i = 1; i <= n; i++) sb.Append($"#define FZ_D{i} FZ_D{i - 1} + FZ_D{i - 1}\n");
        return sb.ToString();
    }

    private static string Chain(int n, bool parenthesised, int? use = null)
    {
        var sb = new StringBuilder("#define FZ_C0 0\n");
        for (int i = 1; i < n; i++)
            sb.Append(parenthesised ? $"#define FZ_C{i} (FZ_C{i - 1} + 1)\n" : $"#define FZ_C{i} FZ_C{i - 1} + 1\n");
        sb.Append($"struct fz_chain {{ char x[FZ_C{use ?? n - 1} + 1]; }};\n");
        return sb.ToString();
    }

    private static string TypedefChain(int n)
    {
        var sb = new StringBuilder("typedef int fz_t0;\n");
        for (int i = 1; i < n; i++) sb.Append($"typedef fz_t{i - 1} fz_t{i};\n");
        sb.Append($"struct fz_td {{ fz_t{n - 1} x; }};\n");
        return sb.ToString();
    }
}
