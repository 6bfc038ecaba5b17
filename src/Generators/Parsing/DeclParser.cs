using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
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
    private readonly HeaderSeverity _unread;

    /// <summary>Records and declarators nested deeper than this are reported rather than recursed into.</summary>
    private const int MaxNesting = 128;

    /// <param name="unreadSeverity">How a declaration the parser cannot read is reported: an error by default
    /// (gcc refuses almost all of them), a warning when the user opted out.</param>
    public DeclParser(List<Token> tokens, List<HeaderDiagnostic> diagnostics, HeaderSeverity unreadSeverity = HeaderSeverity.Error)
    {
        _t = tokens;
        _diagnostics = diagnostics;
        _unread = unreadSeverity;
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
        public ParseError(string message, Token at, bool limit = false) : base(message) { At = at; IsLimit = limit; }
        public Token At { get; }

        /// <summary>The header is valid C but exceeds one of the generator's limits (KVM0011).</summary>
        public bool IsLimit { get; }
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
                Report(e, "declaration not modelled: ");
                _pos = Math.Max(_pos, start + 1);
                SkipToEndOfDeclaration();
            }
        }
    }

    private void Report(ParseError e, string prefix) =>
        _diagnostics.Add(e.IsLimit
            ? new HeaderDiagnostic(DiagnosticIds.LimitExceeded, HeaderSeverity.Error, prefix + e.Message, e.At.File, e.At.Line, e.At.Column)
            : new HeaderDiagnostic(DiagnosticIds.DeclarationNotModelled, _unread, prefix + e.Message, e.At.File, e.At.Line, e.At.Column));

    private void Report(string message, Token at) =>
        _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.DeclarationNotModelled, _unread, message, at.File, at.Line, at.Column));

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
                    Report($"typedef '{name}' redefined with a different type", nameTok);
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

    /// <summary>C's reserved words (and GNU's spellings of them): never a tag or a declarator's name.</summary>
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for",
        "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
        "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Alignas", "_Alignof", "_Atomic",
        "_Noreturn", "_Static_assert", "__attribute__", "__attribute", "__const", "__const__", "__volatile", "__volatile__",
        "__restrict", "__restrict__", "__inline", "__inline__", "__signed", "__signed__", "__int128", "__extension__",
        "__typeof__", "__typeof", "typeof", "__alignof__", "__alignof",
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
        _unread = scope._unread;
        _nesting = scope._nesting + 1; // a type name inside sizeof inside an array length... counts as nesting
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
                        if (!ExprEvaluator.TryEvaluate(args, this, false, out var v, out var err, out bool limit))
                            throw new ParseError($"aligned({Lexer.Render(args)}) is not a constant: {err}", name, limit);
                        align = Math.Max(align, CheckedAlignment(v, args, name));
                    }
                }
                else if (n == "aligned") align = Math.Max(align, 16); // GCC: the target's largest alignment
            }
            Expect(")"); Expect(")");
            _ = at;
        }
    }

    /// <summary>The largest alignment gcc accepts in <c>aligned(N)</c> on these targets (2^28, the ELF limit).</summary>
    public const long MaxAlignment = 1L << 28;

    /// <summary>gcc: "requested alignment is not a positive power of 2" / "exceeds maximum"; both are errors.</summary>
    private static int CheckedAlignment(CValue v, List<Token> args, Token at)
    {
        if ((v.Signed && v.AsSigned <= 0) || v.Bits == 0 || (v.Bits & (v.Bits - 1)) != 0)
            throw new ParseError($"requested alignment '{Lexer.Render(args)}' = {v} is not a positive power of 2", at);
        if (v.Bits > (ulong)MaxAlignment)
            throw new ParseError($"requested alignment {v} exceeds the maximum {MaxAlignment}", at);
        return (int)v.Bits;
    }

    private CType ParseRecord(bool allowDefinitions)
    {
        if (++_nesting > MaxNesting) { _nesting--; throw new ParseError($"records nested deeper than {MaxNesting} levels (the generator's limit)", Cur, limit: true); }
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return ParseRecordCore(allowDefinitions);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new ParseError("records nested too deeply for the stack of this thread", Cur, limit: true);
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
        if (!AtEnd && Cur.IsIdentifier && !Cur.Is("__attribute__"))
        {
            if (Keywords.Contains(Cur.Text)) throw new ParseError($"expected a tag or '{{' after '{kw.Text}', found the keyword '{Cur.Text}'", Cur);
            tagTok = Cur; tag = Cur.Text; _pos++;
        }
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
                Report($"redefinition of {kw.Text} {tag}; the first definition is kept", tagTok);
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
                Report(e, $"member of {record.CName} not modelled: ");
                _pos = Math.Max(_pos, memberStart + 1);
                while (!AtEnd && !Cur.Is(";") && !Cur.Is("}")) { if (Cur.Is("{")) SkipBalanced("{", "}"); else _pos++; }
            }
        }
        Expect("}");
        SkipAttributes(out int postAlign, out bool postPacked);
        record.Packed = prePacked || postPacked;
        record.AlignAttr = Math.Max(preAlign, postAlign);
        record.IsComplete = true;
        if (record.LayoutError is null && FindDuplicateMember(record) is { } dup)
        {
            record.LayoutError = $"duplicate member '{dup.Name}'";
            Report($"{record.CName} has a duplicate member '{dup.Name}'", new Token(TokenKind.Identifier, dup.Name!, dup.File, dup.Line, 1, false));
        }
        // What the engine refuses (an incomplete or void member, a flexible array in the middle, a bitfield wider
        // than its type, an object too large) gcc refuses too: an error unless the user opted out.
        if (record.LayoutError is null && !LayoutEngine.Compute(record))
            _diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.LayoutNotModelled, _unread,
                $"layout of {record.CName} not computed: {record.LayoutError}", record.File, record.Line, 1));
        if (record.LayoutError is not null && record.Layout is not null) record.Layout = null;
        _records.Add(record);
        return record;
    }

    /// <summary>The first member whose name repeats, looking through anonymous struct and union members as C does.</summary>
    private static FieldDecl? FindDuplicateMember(RecordType record)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<RecordType>();
        pending.Push(record);
        var visited = new HashSet<RecordType>();
        while (pending.Count > 0)
        {
            var r = pending.Pop();
            if (!visited.Add(r)) continue;
            foreach (var f in r.Fields)
            {
                if (f.Name is null)
                {
                    if (f.BitWidth is null && f.Type.Resolve() is RecordType { Tag: null } anon) pending.Push(anon);
                    continue;
                }
                if (!names.Add(f.Name)) return f;
            }
        }
        return null;
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

    /// <summary>Words that C allows before a declaration but not before a struct member.</summary>
    private static readonly HashSet<string> StorageClasses = new(StringComparer.Ordinal)
    {
        "typedef", "extern", "static", "register", "auto", "inline", "__inline", "__inline__", "_Noreturn",
    };

    private void ParseMember(RecordType record)
    {
        if (!AtEnd && StorageClasses.Contains(Cur.Text) && Cur.IsIdentifier)
            throw new ParseError($"expected a member type, found '{Cur.Text}' (storage classes are not allowed on struct members)", Cur);
        var specs = ParseSpecifiers(requireType: true);
        if (specs.IsTypedef) throw new ParseError("'typedef' inside a struct or union", Cur);
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
                if (!ExprEvaluator.TryEvaluate(expr, this, false, out var w, out var err, out bool limit))
                    throw new ParseError($"bitfield width '{Lexer.Render(expr)}' is not a constant: {err}", nameTok, limit);
                if ((w.Signed && w.AsSigned < 0) || w.Bits > 128) throw new ParseError($"bitfield '{name}' has invalid width {w}", nameTok);
                width = (int)w.Bits;
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
        if (!AtEnd && Cur.IsIdentifier)
        {
            if (Keywords.Contains(Cur.Text)) throw new ParseError($"expected a tag or '{{' after 'enum', found the keyword '{Cur.Text}'", Cur);
            tag = Cur.Text; _pos++;
        }
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
        if (e.IsComplete) throw new ParseError($"redeclaration of enum {tag}", kw);
        Expect("{");
        var next = CValue.Int(0);
        bool overflowed = false;
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
                if (!ExprEvaluator.TryEvaluate(expr, this, false, out value, out var err, out bool limit))
                    throw new ParseError($"enumerator {nameTok.Text} = '{Lexer.Render(expr)}' is not a constant: {err}", nameTok, limit);
            }
            else if (overflowed) throw new ParseError($"overflow in enumeration values at '{nameTok.Text}' (the previous value was the largest there is)", nameTok);
            // C gives enumerators type int when the value fits.
            if (value.Signed ? value.AsSigned >= int.MinValue && value.AsSigned <= int.MaxValue : value.Bits <= int.MaxValue)
                value = value.Convert(CIntKind.Int);
            if (_enumConstants.TryGetValue(nameTok.Text, out var earlier))
                throw new ParseError($"redeclaration of enumerator '{nameTok.Text}' (first at {earlier.At.File}:{earlier.At.Line})", nameTok);
            e.Values.Add(new KeyValuePair<string, CValue>(nameTok.Text, value));
            _enumConstants[nameTok.Text] = (value, nameTok);
            next = Successor(value, out overflowed);
            if (!Accept(",")) break;
        }
        Expect("}");
        SkipAttributes(out _, out _);
        e.IsComplete = true;
        _enums.Add(e);
        return e;
    }

    /// <summary>The next implicit enumerator value, widening the type rather than wrapping; after the largest
    /// unsigned 64-bit value there is none (gcc: "overflow in enumeration values").</summary>
    private static CValue Successor(CValue value, out bool overflowed)
    {
        overflowed = false;
        if (value.Signed && value.AsSigned < 0) return new CValue(value.Bits + 1, value.Kind);
        if (value.Bits == ulong.MaxValue) { overflowed = true; return value; }
        ulong n = value.Bits + 1;
        ulong max = value.Kind switch { CIntKind.Int => int.MaxValue, CIntKind.UInt => uint.MaxValue, CIntKind.Long or CIntKind.LongLong => long.MaxValue, _ => ulong.MaxValue };
        if (n <= max) return new CValue(n, value.Kind);
        return n <= long.MaxValue ? new CValue(n, CIntKind.Long) : new CValue(n, CIntKind.ULong);
    }

    /// <summary>One derivation of a declarator, applied to the type on its left in order.</summary>
    private readonly struct Derivation
    {
        public Derivation(char kind, long? length) { Kind = kind; Length = length; }
        public char Kind { get; } // '*' pointer, '[' array, '(' function
        public long? Length { get; }

        public CType Apply(CType type) => Kind switch
        {
            '*' => new PointerType(type),
            '[' => new ArrayType(type, Length),
            _ => new FunctionType(type),
        };
    }

    /// <summary>Parses a (possibly abstract) declarator and applies it to <paramref name="baseType"/>. Pointers and
    /// suffixes are read in loops; only parenthesised groups recurse, counted by the nesting limit; the type is
    /// built once from the list of derivations, which is capped at <see cref="CType.MaxDerivations"/>.</summary>
    private (string? Name, CType Type, Token NameToken) ParseDeclarator(CType baseType, bool allowAbstract)
    {
        var at = Cur;
        var derivations = new List<Derivation>();
        var (name, nameTok) = ParseDeclaratorParts(derivations, allowAbstract);
        var type = baseType;
        foreach (var d in derivations)
        {
            type = d.Apply(type);
            if (type.Depth > CType.MaxDerivations)
                throw new ParseError($"declarator '{name ?? "<abstract>"}' stacks more than {CType.MaxDerivations} pointer, array and function derivations (the generator's limit)", at, limit: true);
        }
        return (name, type, nameTok);
    }

    private (string? Name, Token NameToken) ParseDeclaratorParts(List<Derivation> into, bool allowAbstract)
    {
        if (++_nesting > MaxNesting) { _nesting--; throw new ParseError($"declarator nested deeper than {MaxNesting} levels (the generator's limit)", Cur, limit: true); }
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return ParseDeclaratorPartsCore(into, allowAbstract);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new ParseError("declarator nested too deeply for the stack of this thread", Cur, limit: true);
        }
        finally
        {
            _nesting--;
        }
    }

    private void Count(List<Derivation> into, int more, Token at)
    {
        if (into.Count + more > CType.MaxDerivations)
            throw new ParseError($"declarator stacks more than {CType.MaxDerivations} pointer, array and function derivations (the generator's limit)", at, limit: true);
    }

    private (string? Name, Token NameToken) ParseDeclaratorPartsCore(List<Derivation> into, bool allowAbstract)
    {
        var pointers = new List<Derivation>();
        while (Accept("*"))
        {
            Count(into, pointers.Count + 1, Cur);
            pointers.Add(new Derivation('*', null));
            while (!AtEnd && Cur.IsIdentifier && (Qualifiers.Contains(Cur.Text))) _pos++;
            SkipAttributes(out _, out _);
        }
        string? name = null;
        Token nameTok = Cur;
        List<Derivation>? inner = null;
        if (!AtEnd && Cur.IsIdentifier && !Cur.Is("__attribute__"))
        {
            if (Keywords.Contains(Cur.Text)) throw new ParseError($"expected a name, found the keyword '{Cur.Text}'", Cur);
            name = Cur.Text;
            _pos++;
        }
        else if (!AtEnd && Cur.Is("(") && _pos + 1 < _t.Count && (_t[_pos + 1].Is("*") || _t[_pos + 1].Is("(") || (!allowAbstract && _t[_pos + 1].IsIdentifier)))
        {
            // Grouped declarator, e.g. a function pointer: void (*fn)(int). Parsed once; its derivations apply last.
            _pos++;
            inner = new List<Derivation>();
            (name, nameTok) = ParseDeclaratorParts(inner, allowAbstract);
            Expect(")");
        }
        else if (!allowAbstract)
        {
            throw new ParseError(AtEnd ? "expected a name at end of input" : $"expected a name, found '{Cur.Text}'", Cur);
        }

        var suffixes = new List<Derivation>();
        while (!AtEnd)
        {
            if (Accept("["))
            {
                Count(into, pointers.Count + suffixes.Count + (inner?.Count ?? 0) + 1, Cur);
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
                    if (!ExprEvaluator.TryEvaluate(expr, this, false, out var v, out var err, out bool limit))
                        throw new ParseError($"array length '{Lexer.Render(expr)}' is not a constant: {err}", nameTok, limit);
                    if (v.Signed && v.AsSigned < 0) throw new ParseError($"negative array length {v}", nameTok);
                    if (v.Bits > long.MaxValue) throw new ParseError($"array length {v} is too large", nameTok);
                    length = (long)v.Bits;
                }
                suffixes.Add(new Derivation('[', length));
                continue;
            }
            if (Cur.Is("("))
            {
                Count(into, pointers.Count + suffixes.Count + (inner?.Count ?? 0) + 1, Cur);
                SkipBalanced("(", ")");
                suffixes.Add(new Derivation('(', null));
                continue;
            }
            break;
        }
        into.AddRange(pointers);
        for (int i = suffixes.Count - 1; i >= 0; i--) into.Add(suffixes[i]);
        if (inner is not null) into.AddRange(inner);
        return (name, nameTok);
    }
}
