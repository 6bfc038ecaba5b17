using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.CompilerServices;
using Kvm.Generators.Preprocessing;

namespace Kvm.Generators.Parsing;

/// <summary>What the evaluator needs from the declarations: type names (casts, sizeof), layouts, enum constants.</summary>
public interface ITypeContext
{
    bool StartsTypeName(IReadOnlyList<Token> tokens, int pos);

    /// <summary>Parses a type name (specifiers plus an abstract declarator) at <paramref name="pos"/>.</summary>
    CType? ParseTypeName(IReadOnlyList<Token> tokens, ref int pos, out string? error);

    bool TryLayout(CType type, out long size, out long align, out string? error);

    bool TryEnumConstant(string name, out CValue value);
}

/// <summary>
/// Evaluates a C integer constant expression with C's types (LP64), so a macro's value and its type are the ones
/// the C compiler gives it. In preprocessor mode (<c>#if</c>) every value is intmax_t/uintmax_t and unknown
/// identifiers are 0, as the standard says.
/// </summary>
public sealed class ExprEvaluator
{
    private readonly IReadOnlyList<Token> _t;
    private readonly ITypeContext? _types;
    private readonly bool _pp;
    private int _pos;
    private int _depth;

    /// <summary>Deeper nesting than this is reported, not recursed into: a hostile header must not overflow the stack.</summary>
    private const int MaxDepth = 512;

    private sealed class EvalError : Exception
    {
        public EvalError(string message, bool limit = false) : base(message) => IsLimit = limit;

        /// <summary>Valid C that exceeds one of the generator's limits (nesting, stack).</summary>
        public bool IsLimit { get; }
    }

    private ExprEvaluator(IReadOnlyList<Token> tokens, ITypeContext? types, bool preprocessor)
    {
        _t = tokens; _types = types; _pp = preprocessor;
    }

    public static bool TryEvaluate(IReadOnlyList<Token> tokens, ITypeContext? types, bool preprocessor, out CValue value, out string? error) =>
        TryEvaluate(tokens, types, preprocessor, out value, out error, out _);

    /// <param name="limit">True when the expression failed only because it exceeds a generator limit.</param>
    public static bool TryEvaluate(IReadOnlyList<Token> tokens, ITypeContext? types, bool preprocessor, out CValue value, out string? error, out bool limit)
    {
        limit = false;
        var e = new ExprEvaluator(tokens, types, preprocessor);
        try
        {
            if (tokens.Count == 0) throw new EvalError("empty expression");
            value = e.Comma();
            if (e._pos != tokens.Count) throw new EvalError($"unexpected '{tokens[e._pos].Text}'");
            error = null;
            return true;
        }
        catch (EvalError ex)
        {
            value = default;
            error = ex.Message;
            limit = ex.IsLimit;
            return false;
        }
        catch (InsufficientExecutionStackException)
        {
            value = default;
            error = "expression nested too deeply for the stack of this thread";
            limit = true;
            return false;
        }
    }

    private Token? Peek => _pos < _t.Count ? _t[_pos] : null;

    private bool Accept(string p)
    {
        if (_pos < _t.Count && _t[_pos].Is(p)) { _pos++; return true; }
        return false;
    }

    private void Expect(string p)
    {
        if (!Accept(p)) throw new EvalError(Peek is { } t ? $"expected '{p}' before '{t.Text}'" : $"expected '{p}' at end");
    }

    private CValue Comma()
    {
        var v = Conditional();
        while (Accept(",")) v = Conditional();
        return v;
    }

    private CValue Conditional() => ConditionalCore();

    private CValue ConditionalCore()
    {
        var c = Binary(0);
        if (!Accept("?")) return c;
        if (++_depth > MaxDepth) throw new EvalError($"expression nested deeper than {MaxDepth} levels (the generator's limit)", limit: true);
        RuntimeHelpers.EnsureSufficientExecutionStack();
        var a = Comma();
        Expect(":");
        var b = Conditional();
        _depth--;
        var kind = CValue.Common(a.Kind, b.Kind);
        return (c.IsZero ? b : a).Convert(kind);
    }

    private static readonly string[][] Levels =
    {
        new[] { "||" }, new[] { "&&" }, new[] { "|" }, new[] { "^" }, new[] { "&" },
        new[] { "==", "!=" }, new[] { "<", ">", "<=", ">=" }, new[] { "<<", ">>" }, new[] { "+", "-" }, new[] { "*", "/", "%" },
    };

    /// <summary>The binary operators by precedence climbing over explicit stacks: one frame for any chain of
    /// operators (a recursive descent would spend ten frames per operand on the ten levels).</summary>
    private CValue Binary(int level)
    {
        var values = new Stack<CValue>();
        var ops = new Stack<(string Op, int Level)>();
        values.Push(Unary());
        while (true)
        {
            string? op = null;
            int opLevel = -1;
            if (Peek is { } t)
                for (int l = level; l < Levels.Length && op is null; l++)
                    foreach (var candidate in Levels[l])
                        if (t.Is(candidate)) { op = candidate; opLevel = l; break; }
            if (op is null) break;
            while (ops.Count > 0 && ops.Peek().Level >= opLevel) Reduce(values, ops.Pop().Op);
            ops.Push((op, opLevel));
            _pos++;
            values.Push(Unary());
        }
        while (ops.Count > 0) Reduce(values, ops.Pop().Op);
        return values.Pop();
    }

    private void Reduce(Stack<CValue> values, string op)
    {
        var right = values.Pop();
        var left = values.Pop();
        values.Push(Apply(op, left, right));
    }

    private CValue Apply(string op, CValue a, CValue b)
    {
        switch (op)
        {
            case "||": return CValue.Int(!a.IsZero || !b.IsZero ? 1 : 0);
            case "&&": return CValue.Int(!a.IsZero && !b.IsZero ? 1 : 0);
            case "<<":
            case ">>":
            {
                long count = b.Signed ? b.AsSigned : (long)Math.Min(b.Bits, 1000UL);
                int width = CValue.Is32(a.Kind) ? 32 : 64;
                if (count < 0 || count >= width) throw new EvalError($"shift count {count} out of range for {CValue.CName(a.Kind)}");
                if (op == "<<") return new CValue(a.Bits << (int)count, a.Kind);
                return a.Signed ? new CValue((ulong)(a.AsSigned >> (int)count), a.Kind) : new CValue(a.Bits >> (int)count, a.Kind);
            }
        }
        var kind = CValue.Common(a.Kind, b.Kind);
        a = a.Convert(kind); b = b.Convert(kind);
        bool s = CValue.IsSigned(kind);
        switch (op)
        {
            case "|": return new CValue(a.Bits | b.Bits, kind);
            case "^": return new CValue(a.Bits ^ b.Bits, kind);
            case "&": return new CValue(a.Bits & b.Bits, kind);
            case "==": return CValue.Int(a.Bits == b.Bits ? 1 : 0);
            case "!=": return CValue.Int(a.Bits != b.Bits ? 1 : 0);
            case "<": return CValue.Int((s ? a.AsSigned < b.AsSigned : a.Bits < b.Bits) ? 1 : 0);
            case ">": return CValue.Int((s ? a.AsSigned > b.AsSigned : a.Bits > b.Bits) ? 1 : 0);
            case "<=": return CValue.Int((s ? a.AsSigned <= b.AsSigned : a.Bits <= b.Bits) ? 1 : 0);
            case ">=": return CValue.Int((s ? a.AsSigned >= b.AsSigned : a.Bits >= b.Bits) ? 1 : 0);
            case "+": return new CValue(unchecked(a.Bits + b.Bits), kind);
            case "-": return new CValue(unchecked(a.Bits - b.Bits), kind);
            case "*": return new CValue(unchecked(a.Bits * b.Bits), kind);
            case "/":
            case "%":
                if (b.IsZero) throw new EvalError("division by zero");
                if (s)
                {
                    if (a.AsSigned == long.MinValue && b.AsSigned == -1) throw new EvalError("overflow in division");
                    return new CValue((ulong)(op == "/" ? a.AsSigned / b.AsSigned : a.AsSigned % b.AsSigned), kind);
                }
                return new CValue(op == "/" ? a.Bits / b.Bits : a.Bits % b.Bits, kind);
        }
        throw new EvalError($"operator '{op}' not supported");
    }

    private CValue Unary() => UnaryCore();

    /// <summary>The operand of a prefix operator or cast: the one place, with parentheses and <c>?:</c>, where the
    /// evaluator recurses, so the one place besides them that counts nesting.</summary>
    private CValue Nested()
    {
        if (++_depth > MaxDepth) throw new EvalError($"expression nested deeper than {MaxDepth} levels (the generator's limit)", limit: true);
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return UnaryCore();
        }
        finally
        {
            _depth--;
        }
    }

    private CValue UnaryCore()
    {
        if (Accept("+")) return Promote(Nested());
        if (Accept("-")) { var v = Promote(Nested()); return new CValue(unchecked(0 - v.Bits), v.Kind); }
        if (Accept("~")) { var v = Promote(Nested()); return new CValue(~v.Bits, v.Kind); }
        if (Accept("!")) return CValue.Int(Nested().IsZero ? 1 : 0);
        if (Peek is { } t && (t.Is("sizeof") || t.Is("__alignof__") || t.Is("_Alignof") || t.Is("__alignof")))
        {
            _pos++;
            bool wantSize = t.Is("sizeof");
            if (_types is null) throw new EvalError($"'{t.Text}' in a preprocessor expression");
            if (Peek is { } p && p.Is("(") && _types.StartsTypeName(_t, _pos + 1))
            {
                _pos++;
                var type = _types.ParseTypeName(_t, ref _pos, out var err) ?? throw new EvalError(err ?? "bad type name");
                Expect(")");
                if (!_types.TryLayout(type, out var size, out var align, out var lerr)) throw new EvalError(lerr ?? $"no layout for {type.CName}");
                return new CValue((ulong)(wantSize ? size : align), CIntKind.ULong);
            }
            throw new EvalError($"'{t.Text}' of an expression is not supported");
        }
        if (Peek is { } open && open.Is("(") && _types is not null && _types.StartsTypeName(_t, _pos + 1))
        {
            _pos++;
            var type = _types.ParseTypeName(_t, ref _pos, out var err) ?? throw new EvalError(err ?? "bad type name");
            Expect(")");
            var v = Nested();
            return Cast(v, type);
        }
        return Primary();
    }

    private CValue Cast(CValue v, CType type)
    {
        var r = type.Resolve();
        if (r is EnumType e) return v.Convert(IntKindOf(e.Underlying));
        if (r is PrimType p && p.IsInteger)
        {
            if (p.Kind == PrimKind.Bool) return new CValue(v.IsZero ? 0UL : 1UL, CIntKind.Int);
            // A 128-bit value has no CIntKind: refuse rather than give it a 64-bit type C does not give it.
            if (p.Kind is PrimKind.Int128 or PrimKind.UInt128) throw new EvalError($"cast to {type.CName}: 128-bit constants are not modelled");
            // Narrow types: truncate, then promote back to int as C does when the value is used.
            ulong bits = v.Bits;
            switch (p.Kind)
            {
                case PrimKind.Char: case PrimKind.SChar: return CValue.Int((sbyte)(byte)bits);
                case PrimKind.UChar: return CValue.Int((byte)bits);
                case PrimKind.Short: return CValue.Int((short)(ushort)bits);
                case PrimKind.UShort: return CValue.Int((ushort)bits);
            }
            return v.Convert(IntKindOf(p.Kind));
        }
        throw new EvalError($"cast to {type.CName} is not an integer constant");
    }

    public static CIntKind IntKindOf(PrimKind k) => k switch
    {
        PrimKind.UInt => CIntKind.UInt,
        PrimKind.Long => CIntKind.Long,
        PrimKind.ULong => CIntKind.ULong,
        PrimKind.LongLong => CIntKind.LongLong,
        PrimKind.ULongLong or PrimKind.UInt128 => CIntKind.ULongLong,
        PrimKind.Int128 => CIntKind.LongLong,
        _ => CIntKind.Int,
    };

    private CValue Promote(CValue v) => _pp && CValue.Is32(v.Kind) ? v.Convert(v.Signed ? CIntKind.Long : CIntKind.ULong) : v;

    private CValue Primary()
    {
        var t = Peek ?? throw new EvalError("unexpected end of expression");
        if (t.Is("("))
        {
            _pos++;
            if (++_depth > MaxDepth) throw new EvalError($"expression nested deeper than {MaxDepth} levels (the generator's limit)", limit: true);
            RuntimeHelpers.EnsureSufficientExecutionStack();
            var v = Comma();
            _depth--;
            Expect(")");
            return v;
        }
        _pos++;
        switch (t.Kind)
        {
            case TokenKind.Number:
                return Promote(ParseNumber(t.Text));
            case TokenKind.CharLiteral:
                return Promote(ParseChar(t.Text));
            case TokenKind.Identifier:
                if (_pp) return new CValue(0, CIntKind.Long);
                if (_types is not null && _types.TryEnumConstant(t.Text, out var ev)) return ev;
                throw new EvalError($"'{t.Text}' is not a constant");
            default:
                throw new EvalError($"unexpected '{t.Text}'");
        }
    }

    public static CValue ParseNumber(string text)
    {
        string s = text;
        int end = s.Length;
        while (end > 0 && (s[end - 1] is 'u' or 'U' or 'l' or 'L')) end--;
        string suffix = s.Substring(end).ToUpperInvariant();
        string digits = s.Substring(0, end);
        ulong value;
        bool dec;
        try
        {
            if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                value = ulong.Parse(digits.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                dec = false;
            }
            else if (digits.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
            {
                value = System.Convert.ToUInt64(digits.Substring(2), 2);
                dec = false;
            }
            else if (digits.Length > 1 && digits[0] == '0')
            {
                value = System.Convert.ToUInt64(digits, 8);
                dec = false;
            }
            else
            {
                value = ulong.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
                dec = true;
            }
        }
        catch (Exception ex) when (ex is FormatException || ex is OverflowException || ex is ArgumentException)
        {
            throw new EvalError($"'{text}' is not an integer literal");
        }
        bool u = suffix.Contains("U");
        int longs = suffix.Replace("U", "").Length;
        if (longs > 2 || suffix.Replace("U", "").Length != longs) throw new EvalError($"bad suffix in '{text}'");
        var candidates = new List<CIntKind>();
        if (longs == 0) candidates.AddRange(u ? new[] { CIntKind.UInt, CIntKind.ULong, CIntKind.ULongLong } : dec ? new[] { CIntKind.Int, CIntKind.Long, CIntKind.LongLong } : new[] { CIntKind.Int, CIntKind.UInt, CIntKind.Long, CIntKind.ULong, CIntKind.LongLong, CIntKind.ULongLong });
        else if (longs == 1) candidates.AddRange(u ? new[] { CIntKind.ULong, CIntKind.ULongLong } : dec ? new[] { CIntKind.Long, CIntKind.LongLong } : new[] { CIntKind.Long, CIntKind.ULong, CIntKind.LongLong, CIntKind.ULongLong });
        else candidates.AddRange(u ? new[] { CIntKind.ULongLong } : dec ? new[] { CIntKind.LongLong } : new[] { CIntKind.LongLong, CIntKind.ULongLong });
        foreach (var k in candidates)
        {
            ulong max = k switch { CIntKind.Int => int.MaxValue, CIntKind.UInt => uint.MaxValue, CIntKind.Long or CIntKind.LongLong => long.MaxValue, _ => ulong.MaxValue };
            if (value <= max) return new CValue(value, k);
        }
        throw new EvalError($"integer literal '{text}' is too large");
    }

    private static CValue ParseChar(string text)
    {
        if (text.Length < 3 || text[0] != '\'' || text[text.Length - 1] != '\'') throw new EvalError($"bad character literal {text}");
        string body = text.Substring(1, text.Length - 2);
        int v;
        if (body[0] != '\\') v = body[0];
        else if (body.Length == 2)
        {
            v = body[1] switch { 'n' => 10, 't' => 9, 'r' => 13, '0' => 0, 'a' => 7, 'b' => 8, 'f' => 12, 'v' => 11, '\\' => 92, '\'' => 39, '"' => 34, '?' => 63, _ => throw new EvalError($"bad escape in {text}") };
        }
        else if (body[1] == 'x') v = int.Parse(body.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        else v = System.Convert.ToInt32(body.Substring(1), 8);
        return CValue.Int((sbyte)(byte)v);
    }
}
