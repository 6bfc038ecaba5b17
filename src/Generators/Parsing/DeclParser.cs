using System;
using System.Collections.Generic;
using System.Linq;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Kvm.Generators.Preprocessing;

namespace Kvm.Generators.Parsing;

/// <summary>
/// Parses the preprocessed uAPI text into typedefs, structs, unions and enums, laying records out as they
/// complete (C needs a record complete before sizeof or an array of it, so layout order is declaration order).
/// What it cannot model is skipped to the next <c>;</c> with a diagnostic, never dropped silently.
/// </summary>
public sealed class DeclParser : ITypeContext
{
    private readonly List<Token> _t;
    private int _pos;
    private readonly Dictionary<string, CType> _typedefs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CType> _tags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (CValue Value, Token At)> _enumConstants = new(StringComparer.Ordinal);
    private readonly List<RecordType> _records = new();
    private readonly List<EnumType> _enums = new();
    private readonly List<HeaderDiagnostic> _diagnostics;
    private int _nesting;

    /// <summary>Records and declarators nested deeper than this are reported rather than recursed into.</summary>
    private const int MaxNesting = 128;

    public DeclParser(List<Token> tokens, List<HeaderDiagnostic> diagnostics)
    {
        _t = tokens;
        _diagnostics = diagnostics;
        // GCC's builtin typedefs on targets with __SIZEOF_INT128__ (both LP64 targets); asm/ptrace.h of arm64
        // before 6.13 spells struct user_fpsimd_state's registers __uint128_t.
        _typedefs["__int128_t"] = new TypedefType("__int128_t", PrimType.Get(PrimKind.Int128));
        _typedefs["__uint128_t"] = new TypedefType("__uint128_t", PrimType.Get(PrimKind.UInt128));
    }

    /// <summary>Records with a tag or used as a named field's type, in completion order.</summary>
    public IReadOnlyList<RecordType> Records => _records;
    public IReadOnlyList<EnumType> Enums => _enums;
    public IReadOnlyDictionary<string, CType> Typedefs => _typedefs;
    public IReadOnlyDictionary<string, (CValue Value, Token At)> EnumConstants => _enumConstants;

    private sealed class ParseError : Exception
    {
        public ParseError(string message, Token at) : base(message) => At = at;
        public Token At { get; }
    }

    private sealed class Specifiers
    {
        public CType? Type;
        public bool IsTypedef;
        public int AlignAttr;
        public bool Packed;
    }

    public void Parse()
    {
        while (_pos < _t.Count)
        {
            int start = _pos;
            try
            {
                ParseExternalDeclaration();
            }
            catch (ParseError e)
            {
                _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.DeclarationNotModelled, HeaderSeverity.Warning,
                    $"declaration not modelled: {e.Message}", e.At.File, e.At.Line, e.At.Column));
                _pos = Math.Max(_pos, start + 1);
                SkipToEndOfDeclaration();
            }
        }
    }

    private Token Cur => _pos < _t.Count ? _t[_pos] : (_t.Count > 0 ? _t[_t.Count - 1] : new Token(TokenKind.Punct, "", "<end>", 0, 0, false));

    private bool AtEnd => _pos >= _t.Count;

    private bool Accept(string p)
    {
        if (!AtEnd && _t[_pos].Is(p)) { _pos++; return true; }
        return false;
    }

    private void Expect(string p)
    {
        if (!Accept(p)) throw new ParseError(AtEnd ? $"expected '{p}' at end of input" : $"expected '{p}' before '{Cur.Text}'", Cur);
    }

    private void SkipToEndOfDeclaration()
    {
        int level = 0;
        while (_pos < _t.Count)
        {
            var t = _t[_pos++];
            if (t.Is("{") || t.Is("(") || t.Is("[")) level++;
            else if (t.Is("}") || t.Is(")") || t.Is("]"))
            {
                level--;
                if (level <= 0 && t.Is("}") && (AtEnd || !IsDeclaratorContinuation())) return;
            }
            else if (t.Is(";") && level <= 0) return;
        }
    }

    private bool IsDeclaratorContinuation() => !AtEnd && (Cur.IsIdentifier || Cur.Is("*") || Cur.Is(";") || Cur.Is("__attribute__"));

    private void ParseExternalDeclaration()
    {
        if (Accept(";")) return;
        var specs = ParseSpecifiers(requireType: true);
        if (Accept(";")) return;
        while (true)
        {
            var (name, type, nameTok) = ParseDeclarator(specs.Type!, allowAbstract: false);
            SkipAttributes(out _, out _);
            if (type is FunctionType && !AtEnd && Cur.Is("{"))
            {
                SkipBalanced("{", "}");
                _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.DeclarationNotModelled, HeaderSeverity.Info,
                    $"function '{name}' is code, not ABI data; skipped", nameTok.File, nameTok.Line, nameTok.Column));
                return;
            }
            if (Accept("="))
            {
                int level = 0;
                while (!AtEnd && !(level == 0 && (Cur.Is(",") || Cur.Is(";"))))
                {
                    if (Cur.Is("(") || Cur.Is("{")) level++;
                    if (Cur.Is(")") || Cur.Is("}")) level--;
                    _pos++;
                }
            }
            if (specs.IsTypedef && name is not null)
            {
                if (_typedefs.TryGetValue(name, out var existing) && existing.Resolve() != type.Resolve() && existing.CName != type.CName)
                    _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.DeclarationNotModelled, HeaderSeverity.Warning,
                        $"typedef '{name}' redefined with a different type", nameTok.File, nameTok.Line, nameTok.Column));
                else _typedefs[name] = new TypedefType(name, type);
            }
            if (Accept(",")) continue;
            Expect(";");
            return;
        }
    }

    private void SkipBalanced(string open, string close)
    {
        int level = 0;
        while (!AtEnd)
        {
            var t = _t[_pos++];
            if (t.Is(open)) level++;
            else if (t.Is(close) && --level == 0) return;
        }
    }

    private static readonly HashSet<string> Qualifiers = new(StringComparer.Ordinal)
    {
        "const", "volatile", "__const", "__const__", "__volatile__", "__volatile", "restrict", "__restrict", "__restrict__",
        "extern", "static", "inline", "__inline", "__inline__", "register", "auto", "__extension__", "_Noreturn", "__user", "__iomem", "__force",
    };

    private static readonly HashSet<string> TypeWords = new(StringComparer.Ordinal)
    {
        "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "_Bool", "__signed__", "__signed", "__int128",
    };

    public bool StartsTypeName(IReadOnlyList<Token> tokens, int pos)
    {
        if (pos >= tokens.Count) return false;
        var t = tokens[pos];
        if (!t.IsIdentifier) return false;
        return TypeWords.Contains(t.Text) || Qualifiers.Contains(t.Text) || t.Text is "struct" or "union" or "enum" || _typedefs.ContainsKey(t.Text);
    }

    public CType? ParseTypeName(IReadOnlyList<Token> tokens, ref int pos, out string? error)
    {
        // Type names inside macro bodies are parsed by a parser over those tokens that shares this one's scopes.
        var sub = new DeclParser(tokens as List<Token> ?? tokens.ToList(), this) { _pos = pos };
        try
        {
            var specs = sub.ParseSpecifiers(requireType: true, allowDefinitions: false);
            var (_, type, _) = sub.ParseDeclarator(specs.Type!, allowAbstract: true);
            pos = sub._pos;
            error = null;
            return type;
        }
        catch (ParseError e)
        {
            error = e.Message;
            return null;
        }
    }

    private DeclParser(List<Token> tokens, DeclParser scope)
    {
        _t = tokens;
        _diagnostics = scope._diagnostics;
        _typedefs = scope._typedefs;
        _tags = scope._tags;
        _enumConstants = scope._enumConstants;
        _records = scope._records;
        _enums = scope._enums;
    }

    public bool TryLayout(CType type, out long size, out long align, out string? error) =>
        LayoutEngine.TrySizeAlign(type, out size, out align, out error);

    public bool TryEnumConstant(string name, out CValue value)
    {
        if (_enumConstants.TryGetValue(name, out var v)) { value = v.Value; return true; }
        value = default;
        return false;
    }

    private Specifiers ParseSpecifiers(bool requireType, bool allowDefinitions = true)
    {
        var s = new Specifiers();
        var words = new List<string>();
        Token first = Cur;
        while (!AtEnd)
        {
            var t = Cur;
            if (!t.IsIdentifier) break;
            if (t.Text == "typedef") { s.IsTypedef = true; _pos++; continue; }
            if (Qualifiers.Contains(t.Text)) { _pos++; continue; }
            if (t.Text is "__attribute__" or "__attribute")
            {
                SkipAttributes(out int align, out bool packed);
                s.AlignAttr = Math.Max(s.AlignAttr, align);
                s.Packed |= packed;
                continue;
            }
            if (TypeWords.Contains(t.Text)) { words.Add(t.Text); _pos++; continue; }
            if (t.Text is "struct" or "union")
            {
                if (s.Type is not null || words.Count > 0) throw new ParseError("two types in one declaration", t);
                s.Type = ParseRecord(allowDefinitions);
                continue;
            }
            if (t.Text == "enum")
            {
                if (s.Type is not null || words.Count > 0) throw new ParseError("two types in one declaration", t);
                s.Type = ParseEnum(allowDefinitions);
                continue;
            }
            if (t.Text is "typeof" or "__typeof__" or "__typeof" or "_Atomic" or "__auto_type")
                throw new ParseError($"'{t.Text}' is not modelled", t);
            if (s.Type is null && words.Count == 0 && _typedefs.TryGetValue(t.Text, out var td))
            {
                s.Type = td;
                _pos++;
                continue;
            }
            break;
        }
        if (words.Count > 0)
        {
            if (s.Type is not null) throw new ParseError("two types in one declaration", first);
            s.Type = PrimFromWords(words, first);
        }
        if (s.Type is null)
        {
            if (requireType) throw new ParseError(AtEnd ? "expected a type at end of input" : $"expected a type, found '{Cur.Text}'", Cur);
            s.Type = PrimType.Get(PrimKind.Int);
        }
        return s;
    }

    private static CType PrimFromWords(List<string> words, Token at)
    {
        int longs = words.Count(w => w == "long");
        bool unsigned = words.Contains("unsigned");
        bool signed = words.Contains("signed") || words.Contains("__signed__") || words.Contains("__signed");
        if (words.Contains("__int128")) return PrimType.Get(unsigned ? PrimKind.UInt128 : PrimKind.Int128);
        if (words.Contains("void")) return PrimType.Get(PrimKind.Void);
        if (words.Contains("_Bool")) return PrimType.Get(PrimKind.Bool);
        if (words.Contains("float")) return PrimType.Get(PrimKind.Float);
        if (words.Contains("double")) return PrimType.Get(longs > 0 ? PrimKind.LongDouble : PrimKind.Double);
        if (words.Contains("char")) return PrimType.Get(unsigned ? PrimKind.UChar : signed ? PrimKind.SChar : PrimKind.Char);
        if (words.Contains("short")) return PrimType.Get(unsigned ? PrimKind.UShort : PrimKind.Short);
        if (longs >= 2) return PrimType.Get(unsigned ? PrimKind.ULongLong : PrimKind.LongLong);
        if (longs == 1) return PrimType.Get(unsigned ? PrimKind.ULong : PrimKind.Long);
        return PrimType.Get(unsigned ? PrimKind.UInt : PrimKind.Int);
    }

    /// <summary>Skips GNU attributes, remembering the ones that change layout.</summary>
    private void SkipAttributes(out int align, out bool packed)
    {
        align = 0; packed = false;
        while (!AtEnd && (Cur.Is("__attribute__") || Cur.Is("__attribute")))
        {
            var at = Cur;
            _pos++;
            Expect("("); Expect("(");
            while (!AtEnd && !Cur.Is(")"))
            {
                if (Accept(",")) continue;
                var name = Cur;
                _pos++;
                string n = name.Text.Trim('_');
                if (n == "packed") packed = true;
                if (Accept("("))
                {
                    int argStart = _pos;
                    int level = 1;
                    while (!AtEnd && level > 0)
                    {
                        if (Cur.Is("(")) level++;
                        else if (Cur.Is(")")) level--;
                        if (level > 0) _pos++;
                    }
                    var args = _t.GetRange(argStart, _pos - argStart);
                    Expect(")");
                    if (n == "aligned")
                    {
                        if (!ExprEvaluator.TryEvaluate(args, this, false, out var v, out var err))
                            throw new ParseError($"aligned({Lexer.Render(args)}) is not a constant: {err}", name);
                        align = Math.Max(align, (int)v.Bits);
                    }
                }
                else if (n == "aligned") align = Math.Max(align, 16); // GCC: the target's largest alignment
            }
            Expect(")"); Expect(")");
            _ = at;
        }
    }

    private CType ParseRecord(bool allowDefinitions)
    {
        if (++_nesting > MaxNesting) { _nesting--; throw new ParseError($"records nested deeper than {MaxNesting} levels", Cur); }
        try
        {
            return ParseRecordCore(allowDefinitions);
        }
        finally
        {
            _nesting--;
        }
    }

    private CType ParseRecordCore(bool allowDefinitions)
    {
        var kw = Cur;
        bool isUnion = kw.Is("union");
        _pos++;
        SkipAttributes(out int preAlign, out bool prePacked);
        string? tag = null;
        Token tagTok = kw;
        if (!AtEnd && Cur.IsIdentifier && !Cur.Is("__attribute__")) { tagTok = Cur; tag = Cur.Text; _pos++; }
        if (AtEnd || !Cur.Is("{"))
        {
            if (tag is null) throw new ParseError($"anonymous {kw.Text} without a body", kw);
            return LookupOrDeclareTag(tag, isUnion, tagTok);
        }
        if (!allowDefinitions) throw new ParseError($"{kw.Text} definition inside an expression", kw);
        RecordType record;
        if (tag is not null)
        {
            record = (RecordType)LookupOrDeclareTag(tag, isUnion, tagTok);
            if (record.IsComplete)
            {
                _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.DeclarationNotModelled, HeaderSeverity.Warning,
                    $"{kw.Text} {tag} defined twice; the first definition is kept", tagTok.File, tagTok.Line, tagTok.Column));
                record = new RecordType(tag, isUnion, tagTok.File, tagTok.Line);
            }
            else record.Line = tagTok.Line;
        }
        else record = new RecordType(null, isUnion, kw.File, kw.Line);
        Expect("{");
        while (!AtEnd && !Cur.Is("}"))
        {
            if (Accept(";")) continue;
            int memberStart = _pos;
            try
            {
                ParseMember(record);
            }
            catch (ParseError e)
            {
                record.LayoutError = $"member not modelled: {e.Message}";
                _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.DeclarationNotModelled, HeaderSeverity.Warning,
                    $"member of {record.CName} not modelled: {e.Message}", e.At.File, e.At.Line, e.At.Column));
                _pos = Math.Max(_pos, memberStart + 1);
                while (!AtEnd && !Cur.Is(";") && !Cur.Is("}")) { if (Cur.Is("{")) SkipBalanced("{", "}"); else _pos++; }
            }
        }
        Expect("}");
        SkipAttributes(out int postAlign, out bool postPacked);
        record.Packed = prePacked || postPacked;
        record.AlignAttr = Math.Max(preAlign, postAlign);
        record.IsComplete = true;
        if (record.LayoutError is null && !LayoutEngine.Compute(record))
            _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.LayoutNotModelled, HeaderSeverity.Warning,
                $"layout of {record.CName} not computed: {record.LayoutError}", record.File, record.Line, 1));
        if (record.LayoutError is not null && record.Layout is not null) record.Layout = null;
        _records.Add(record);
        return record;
    }

    private CType LookupOrDeclareTag(string tag, bool isUnion, Token at)
    {
        if (_tags.TryGetValue(tag, out var existing))
        {
            if (existing is RecordType r && r.IsUnion == isUnion) return r;
            throw new ParseError($"'{tag}' was declared as a different kind of tag", at);
        }
        var record = new RecordType(tag, isUnion, at.File, at.Line);
        _tags[tag] = record;
        return record;
    }

    private void ParseMember(RecordType record)
    {
        var specs = ParseSpecifiers(requireType: true);
        if (Accept(";"))
        {
            if (specs.Type is RecordType { Tag: null } anon)
                record.Fields.Add(new FieldDecl(null, anon, null, specs.AlignAttr, anon.File, anon.Line));
            return;
        }
        while (true)
        {
            string? name = null;
            CType type = specs.Type!;
            Token nameTok = Cur;
            if (!Cur.Is(":")) (name, type, nameTok) = ParseDeclarator(specs.Type!, allowAbstract: false);
            int? width = null;
            if (Accept(":"))
            {
                int s = _pos;
                while (!AtEnd && !Cur.Is(",") && !Cur.Is(";") && !Cur.Is("__attribute__")) _pos++;
                var expr = _t.GetRange(s, _pos - s);
                if (!ExprEvaluator.TryEvaluate(expr, this, false, out var w, out var err))
                    throw new ParseError($"bitfield width '{Lexer.Render(expr)}' is not a constant: {err}", nameTok);
                width = (int)w.AsSigned;
            }
            SkipAttributes(out int align, out bool packed);
            if (type is FunctionType) throw new ParseError($"member '{name}' has function type", nameTok);
            record.Fields.Add(new FieldDecl(name, type, width, Math.Max(specs.AlignAttr, align), nameTok.File, nameTok.Line));
            if (packed && !specs.Packed) { /* a packed member only drops its own alignment */ }
            if (Accept(",")) continue;
            Expect(";");
            return;
        }
    }

    private CType ParseEnum(bool allowDefinitions)
    {
        var kw = Cur;
        _pos++;
        SkipAttributes(out _, out _);
        string? tag = null;
        if (!AtEnd && Cur.IsIdentifier) { tag = Cur.Text; _pos++; }
        EnumType e;
        if (tag is not null && _tags.TryGetValue(tag, out var existing))
        {
            e = existing as EnumType ?? throw new ParseError($"'{tag}' was declared as a different kind of tag", kw);
        }
        else
        {
            e = new EnumType(tag);
            if (tag is not null) _tags[tag] = e;
        }
        if (AtEnd || !Cur.Is("{"))
        {
            if (tag is null) throw new ParseError("anonymous enum without a body", kw);
            return e;
        }
        if (!allowDefinitions) throw new ParseError("enum definition inside an expression", kw);
        Expect("{");
        var next = CValue.Int(0);
        while (!AtEnd && !Cur.Is("}"))
        {
            var nameTok = Cur;
            if (!nameTok.IsIdentifier) throw new ParseError($"expected an enumerator, found '{nameTok.Text}'", nameTok);
            _pos++;
            SkipAttributes(out _, out _);
            var value = next;
            if (Accept("="))
            {
                int s = _pos, level = 0;
                while (!AtEnd && !(level == 0 && (Cur.Is(",") || Cur.Is("}"))))
                {
                    if (Cur.Is("(")) level++;
                    if (Cur.Is(")")) level--;
                    _pos++;
                }
                var expr = _t.GetRange(s, _pos - s);
                if (!ExprEvaluator.TryEvaluate(expr, this, false, out value, out var err))
                    throw new ParseError($"enumerator {nameTok.Text} = '{Lexer.Render(expr)}' is not a constant: {err}", nameTok);
            }
            // C gives enumerators type int when the value fits.
            if (value.Signed ? value.AsSigned >= int.MinValue && value.AsSigned <= int.MaxValue : value.Bits <= int.MaxValue)
                value = value.Convert(CIntKind.Int);
            e.Values.Add(new KeyValuePair<string, CValue>(nameTok.Text, value));
            _enumConstants[nameTok.Text] = (value, nameTok);
            next = new CValue(value.Bits + 1, value.Kind);
            if (!Accept(",")) break;
        }
        Expect("}");
        SkipAttributes(out _, out _);
        e.IsComplete = true;
        _enums.Add(e);
        return e;
    }

    /// <summary>Parses a (possibly abstract) declarator and applies it to <paramref name="baseType"/>.</summary>
    private (string? Name, CType Type, Token NameToken) ParseDeclarator(CType baseType, bool allowAbstract)
    {
        if (++_nesting > MaxNesting) { _nesting--; throw new ParseError($"declarator nested deeper than {MaxNesting} levels", Cur); }
        try
        {
            return ParseDeclaratorCore(baseType, allowAbstract);
        }
        finally
        {
            _nesting--;
        }
    }

    private (string? Name, CType Type, Token NameToken) ParseDeclaratorCore(CType baseType, bool allowAbstract)
    {
        var type = baseType;
        while (Accept("*"))
        {
            type = new PointerType(type);
            while (!AtEnd && Cur.IsIdentifier && (Qualifiers.Contains(Cur.Text))) _pos++;
            SkipAttributes(out _, out _);
        }
        string? name = null;
        Token nameTok = Cur;
        Func<CType, CType>? inner = null;
        if (!AtEnd && Cur.IsIdentifier && !Cur.Is("__attribute__"))
        {
            name = Cur.Text;
            _pos++;
        }
        else if (!AtEnd && Cur.Is("(") && _pos + 1 < _t.Count && (_t[_pos + 1].Is("*") || _t[_pos + 1].Is("(")))
        {
            // Grouped declarator, e.g. a function pointer: void (*fn)(int).
            _pos++;
            var placeholder = PrimType.Get(PrimKind.Void);
            int innerStart = _pos;
            var (innerName, _, innerTok) = ParseDeclarator(placeholder, allowAbstract);
            int innerEnd = _pos;
            Expect(")");
            name = innerName;
            nameTok = innerTok;
            int after = _pos;
            inner = t =>
            {
                int save = _pos;
                _pos = innerStart;
                var (_, wrapped, _) = ParseDeclarator(t, allowAbstract);
                _pos = save;
                return wrapped;
            };
            _ = innerEnd; _ = after;
        }
        else if (!allowAbstract)
        {
            throw new ParseError(AtEnd ? "expected a name at end of input" : $"expected a name, found '{Cur.Text}'", Cur);
        }

        var suffixes = new List<Func<CType, CType>>();
        while (!AtEnd)
        {
            if (Accept("["))
            {
                int s = _pos, level = 0;
                while (!AtEnd && !(level == 0 && Cur.Is("]")))
                {
                    if (Cur.Is("[")) level++;
                    if (Cur.Is("]")) level--;
                    _pos++;
                }
                var expr = _t.GetRange(s, _pos - s);
                Expect("]");
                long? length = null;
                if (expr.Count > 0)
                {
                    if (!ExprEvaluator.TryEvaluate(expr, this, false, out var v, out var err))
                        throw new ParseError($"array length '{Lexer.Render(expr)}' is not a constant: {err}", nameTok);
                    if (v.Signed && v.AsSigned < 0) throw new ParseError($"negative array length {v}", nameTok);
                    length = (long)v.Bits;
                }
                suffixes.Add(t => new ArrayType(t, length));
                continue;
            }
            if (Cur.Is("("))
            {
                SkipBalanced("(", ")");
                suffixes.Add(t => new FunctionType(t));
                continue;
            }
            break;
        }
        for (int i = suffixes.Count - 1; i >= 0; i--) type = suffixes[i](type);
        if (inner is not null) type = inner(type);
        return (name, type, nameTok);
    }
}
