using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using Kvm.Generators.Model;
using Kvm.Generators.Parsing;

namespace Kvm.Generators.Preprocessing;

/// <summary>
/// The C preprocessor, for the subset the kernel's uAPI headers use: object- and function-like macros (with # and
/// ##), conditionals with <c>defined</c> and integer expressions, and <c>#include</c> resolved among the supplied
/// headers through include roots, like <c>-I</c>. It never reads the disk and never throws on bad input: every
/// problem becomes a <see cref="HeaderDiagnostic"/> at the header's file and line.
/// </summary>
public sealed class Preprocessor
{
    private const int MaxIncludeDepth = 64;
    private const int MaxExpansionDepth = 200;

    /// <summary>Tokens one top-level expansion may produce (every replacement and argument counted): 22
    /// self-doubling defines stop here with a KVM0011 error in 0.3 s instead of filling memory.</summary>
    public const long ExpansionBudget = 100_000;

    private long _budget;
    private bool _budgetReported;
    private int _painted;

    /// <summary>Thrown inside an expansion that exceeded <see cref="ExpansionBudget"/>; caught at the top.</summary>
    private sealed class BudgetExceeded : Exception { }

    private readonly HeaderSet _headers;
    private readonly Dictionary<string, Macro> _macros = new(StringComparer.Ordinal);
    private readonly List<Macro> _definitions = new();
    private readonly List<Token> _text = new();
    private readonly List<HeaderDiagnostic> _diagnostics = new();
    private readonly List<string> _includedFiles = new();
    private readonly HashSet<string> _includedSet = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _includeNames = new(StringComparer.Ordinal);
    private int _depth;

    public Preprocessor(HeaderSet headers, IEnumerable<KeyValuePair<string, string>> predefined)
    {
        _headers = headers;
        foreach (var kv in predefined)
        {
            var body = Lexer.Lex(kv.Value, "<built-in>").SelectMany(l => l.Tokens).ToList();
            _macros[kv.Key] = new Macro(kv.Key, false, new List<string>(), false, body, "<built-in>", "<built-in>", 0);
        }
    }

    /// <summary>Every active, expanded token outside directives, in order: the input of the declarations parser.</summary>
    public List<Token> Text => _text;

    /// <summary>The macro table at the end of the translation unit.</summary>
    public IReadOnlyDictionary<string, Macro> Macros => _macros;

    /// <summary>Every definition in order, including ones later undefined or redefined.</summary>
    public IReadOnlyList<Macro> Definitions => _definitions;

    public List<HeaderDiagnostic> Diagnostics => _diagnostics;

    /// <summary>The resolved paths of every header read, in first-inclusion order.</summary>
    public IReadOnlyList<string> IncludedFiles => _includedFiles;

    /// <summary>How each resolved header was first included (e.g. <c>asm/kvm.h</c>), by path.</summary>
    public IReadOnlyDictionary<string, string> IncludeNames => _includeNames;

    /// <summary>Processes one entry header as if a source file said <c>#include &lt;entry&gt;</c>.</summary>
    public void ProcessEntry(string includeName)
    {
        var file = _headers.Resolve(includeName, currentDirectory: null, quoted: false);
        if (file is null)
        {
            Report(DiagnosticIds.IncludeNotFound, HeaderSeverity.Error, $"entry header <{includeName}> was not found under the include roots ({_headers.DescribeRoots()})", "<entry>", 0, 0);
            return;
        }
        ProcessFile(file, includeName);
    }

    private void Report(string id, HeaderSeverity severity, string message, string file, int line, int column) =>
        _diagnostics.Add(new HeaderDiagnostic(id, severity, message, file, line, column));

    private void Report(string id, HeaderSeverity severity, string message, Token at) =>
        Report(id, severity, message, at.File, at.Line, at.Column);

    private sealed class Conditional
    {
        public bool ParentActive;
        public bool Active;
        public bool Taken;
        public bool SeenElse;
        public Token Start;
    }

    private void ProcessFile(HeaderFile file, string includeName)
    {
        if (_depth >= MaxIncludeDepth)
        {
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"#include nested deeper than {MaxIncludeDepth} levels (recursive include?) at <{includeName}>", file.Path, 1, 1);
            return;
        }
        if (LooksBinary(file.Text))
        {
            if (_includedSet.Add(file.Path)) { _includedFiles.Add(file.Path); _includeNames[file.Path] = includeName; }
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"<{includeName}> is not a C header: it looks like binary data (control bytes in more than 1% of it); skipped", file.Path, 1, 1);
            return;
        }
        bool first = _includedSet.Add(file.Path);
        if (first) { _includedFiles.Add(file.Path); _includeNames[file.Path] = includeName; }
        _depth++;
        var lines = _headers.Lines(file);
        if (first)
            foreach (var problem in _headers.Problems(file))
                Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, problem.Message, file.Path, problem.Line, problem.Column);
        var stack = new Stack<Conditional>();
        var run = new List<Token>();
        bool Active() => stack.Count == 0 || stack.Peek().Active;

        void FlushRun()
        {
            if (run.Count == 0) return;
            _text.AddRange(ExpandTop(run, null));
            run = new List<Token>();
        }

        foreach (var line in lines)
        {
            if (!line.IsDirective)
            {
                if (Active()) run.AddRange(line.Tokens);
                continue;
            }
            FlushRun();
            var toks = line.Tokens;
            if (toks.Count == 1) continue; // null directive
            var d = toks[1];
            string name = d.Text;
            if (name == "define" && Active()) { Define(toks, 2, d, file, includeName); continue; }
            var rest = toks.Count > 2 ? toks.GetRange(2, toks.Count - 2) : new List<Token>();
            switch (name)
            {
                case "if":
                case "ifdef":
                case "ifndef":
                {
                    bool parent = Active();
                    bool cond = parent && EvaluateCondition(name, rest, d);
                    stack.Push(new Conditional { ParentActive = parent, Active = cond, Taken = cond, Start = d });
                    break;
                }
                case "elif":
                {
                    if (stack.Count == 0) { Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "#elif without #if", d); break; }
                    var c = stack.Peek();
                    if (c.SeenElse) Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "#elif after #else", d);
                    if (c.Taken || !c.ParentActive) c.Active = false;
                    else { c.Active = EvaluateCondition("if", rest, d); c.Taken = c.Active; }
                    break;
                }
                case "else":
                {
                    if (stack.Count == 0) { Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "#else without #if", d); break; }
                    var c = stack.Peek();
                    if (c.SeenElse) Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "second #else for one #if", d);
                    c.SeenElse = true;
                    c.Active = c.ParentActive && !c.Taken;
                    c.Taken = true;
                    break;
                }
                case "endif":
                    if (stack.Count == 0) Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "#endif without #if", d);
                    else stack.Pop();
                    break;
                default:
                    if (!Active()) break;
                    switch (name)
                    {
                        case "undef":
                            if (rest.Count > 0 && rest[0].IsIdentifier) _macros.Remove(rest[0].Text);
                            else Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "#undef needs a macro name", d);
                            break;
                        case "include": Include(rest, d, file); break;
                        case "error":
                            Report(DiagnosticIds.ErrorDirective, HeaderSeverity.Error, "#error " + Lexer.Render(rest), d);
                            break;
                        case "warning":
                            Report(DiagnosticIds.ErrorDirective, HeaderSeverity.Warning, "#warning " + Lexer.Render(rest), d);
                            break;
                        case "pragma":
                        case "line":
                        case "ident":
                            break;
                        default:
                            // gcc: "invalid preprocessing directive", an error in an active region.
                            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"invalid preprocessing directive #{name}", d);
                            break;
                    }
                    break;
            }
        }
        FlushRun();
        while (stack.Count > 0)
        {
            var c = stack.Pop();
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"#{c.Start.Text} is never closed by #endif", c.Start);
        }
        _depth--;
    }

    /// <summary>More than 1% control bytes (other than whitespace): an ELF file or an image, not text. One error
    /// for the file rather than one per stray byte.</summary>
    private static bool LooksBinary(string text)
    {
        int control = 0;
        foreach (var c in text)
            if (c < ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') control++;
        return control > 0 && control * 100L > text.Length;
    }

    /// <summary>Reads <c>#define</c> from the directive's tokens, its name at <paramref name="from"/>: the body is
    /// the one copy made (a copy of the rest first would double the garbage of a define-heavy header).</summary>
    private void Define(List<Token> toks, int from, Token at, HeaderFile file, string includeName)
    {
        var rest = new ListTail(toks, from);
        if (rest.Count == 0 || !rest[0].IsIdentifier)
        {
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "#define needs a macro name", at);
            return;
        }
        var nameTok = rest[0];
        var parameters = new List<string>();
        bool isFunction = false, variadic = false;
        int i = 1;
        if (rest.Count > 1 && rest[1].Is("(") && !rest[1].SpaceBefore)
        {
            isFunction = true;
            i = 2;
            bool ok = false;
            while (i < rest.Count)
            {
                var t = rest[i++];
                if (t.Is(")")) { ok = true; break; }
                if (t.Is(",")) continue;
                if (t.Is("...")) { variadic = true; parameters.Add("__VA_ARGS__"); continue; }
                if (t.IsIdentifier) { parameters.Add(t.Text); continue; }
                break;
            }
            if (!ok)
            {
                Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"malformed parameter list in #define {nameTok.Text}", nameTok);
                return;
            }
        }
        var body = i < rest.Count ? toks.GetRange(from + i, rest.Count - i) : new List<Token>();
        if (body.Count > 0) body[0] = body[0].WithSpace(false);
        // gcc refuses these when it reads the #define, used or not.
        if (body.Count > 0 && (body[0].Is("##") || body[body.Count - 1].Is("##")))
        {
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"'##' cannot appear at either end of the body of #define {nameTok.Text}", nameTok);
            return;
        }
        if (isFunction)
            for (int k = 0; k < body.Count; k++)
                if (body[k].Is("#") && (k + 1 >= body.Count || !parameters.Contains(body[k + 1].Text)))
                {
                    Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"'#' is not followed by a macro parameter in #define {nameTok.Text}", body[k]);
                    return;
                }
        var macro = new Macro(nameTok.Text, isFunction, parameters, variadic, body, file.Path, includeName, nameTok.Line);
        if (_macros.TryGetValue(macro.Name, out var old) && !old.SameDefinition(macro) && old.File != "<built-in>")
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Warning, $"'{macro.Name}' redefined (first defined at {old.File}:{old.Line})", nameTok);
        _macros[macro.Name] = macro;
        _definitions.Add(macro);
    }

    private void Include(List<Token> rest, Token at, HeaderFile current)
    {
        if (rest.Count > 0 && rest[0].IsIdentifier) rest = ExpandTop(rest, null);
        string? target = null;
        bool quoted = false;
        if (rest.Count == 1 && rest[0].Kind == TokenKind.String) { target = rest[0].Text.Trim('"'); quoted = true; }
        else if (rest.Count >= 3 && rest[0].Is("<") && rest[rest.Count - 1].Is(">"))
            target = string.Concat(rest.Skip(1).Take(rest.Count - 2).Select(t => t.Text));
        if (string.IsNullOrEmpty(target))
        {
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "#include expects <file> or \"file\"", at);
            return;
        }
        var file = _headers.Resolve(target!, HeaderSet.DirectoryOf(current.Path), quoted);
        if (file is null)
        {
            Report(DiagnosticIds.IncludeNotFound, HeaderSeverity.Error, $"#include <{target}> not found under the include roots ({_headers.DescribeRoots()})", at);
            return;
        }
        ProcessFile(file, target!);
    }

    private bool EvaluateCondition(string kind, List<Token> rest, Token at)
    {
        if (kind == "ifdef" || kind == "ifndef")
        {
            if (rest.Count == 0 || !rest[0].IsIdentifier)
            {
                Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"#{kind} needs a macro name", at);
                return false;
            }
            bool defined = _macros.ContainsKey(rest[0].Text);
            return kind == "ifdef" ? defined : !defined;
        }
        // Replace defined X / defined(X) before expansion, as C requires.
        var replaced = new List<Token>();
        for (int i = 0; i < rest.Count; i++)
        {
            var t = rest[i];
            if (t.Is("defined"))
            {
                bool paren = i + 1 < rest.Count && rest[i + 1].Is("(");
                int j = paren ? i + 2 : i + 1;
                if (j >= rest.Count || !rest[j].IsIdentifier || (paren && (j + 1 >= rest.Count || !rest[j + 1].Is(")"))))
                {
                    Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, "malformed 'defined' in #if", t);
                    return false;
                }
                replaced.Add(new Token(TokenKind.Number, _macros.ContainsKey(rest[j].Text) ? "1" : "0", t.File, t.Line, t.Column, t.SpaceBefore));
                i = paren ? j + 1 : j;
                continue;
            }
            replaced.Add(t);
        }
        var expanded = ExpandTop(replaced, null);
        if (!ExprEvaluator.TryEvaluate(expanded, null, preprocessor: true, out var value, out var error, out bool limit))
        {
            Report(limit ? DiagnosticIds.LimitExceeded : DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"#{kind} expression not understood: {error} (in '{Lexer.Render(rest)}')", at);
            return false;
        }
        return !value.IsZero;
    }

    /// <summary>Fully macro-expands a token list with the current macro table.</summary>
    public List<Token> Expand(List<Token> input) => ExpandTop(input, null);

    /// <summary>Expands with known values: an object-like macro named in <paramref name="known"/> is replaced by
    /// the given tokens (its value as a typed literal) instead of being expanded again, so a chain of
    /// <c>#define An (An-1 + 1)</c> costs one step per macro, not n.</summary>
    public List<Token> Expand(List<Token> input, IReadOnlyDictionary<string, List<Token>>? known) => ExpandTop(input, known);

    /// <summary>Tokens the last top-level expansion produced, counting intermediate ones.</summary>
    public long LastExpansionWork { get; private set; }

    /// <summary>True when the last top-level expansion met a macro inside its own expansion (left unexpanded).</summary>
    public bool LastExpansionPainted => _painted > 0;

    private IReadOnlyDictionary<string, List<Token>>? _known;

    private List<Token> ExpandTop(List<Token> input, IReadOnlyDictionary<string, List<Token>>? known)
    {
        _budget = ExpansionBudget + input.Count;
        _budgetReported = false;
        _painted = 0;
        _known = known;
        var output = new List<Token>(input.Count);
        try
        {
            ExpandInto(output, input, null, 0);
            return output;
        }
        catch (BudgetExceeded)
        {
            return new List<Token>();
        }
        finally
        {
            LastExpansionWork = ExpansionBudget + input.Count - _budget;
            _known = null;
        }
    }

    private void Spend(long tokens, Token at)
    {
        _budget -= tokens;
        if (_budget >= 0) return;
        if (!_budgetReported)
        {
            _budgetReported = true;
            Report(DiagnosticIds.LimitExceeded, HeaderSeverity.Error,
                $"macro expansion at '{at.Text}' produces more than {ExpansionBudget} tokens (the generator's limit)", at);
        }
        throw new BudgetExceeded();
    }

    private List<Token> Expand(List<Token> input, Disabled? disabled, int depth)
    {
        var output = new List<Token>(input.Count);
        ExpandInto(output, input, disabled, depth);
        return output;
    }

    /// <summary>Appends the expansion of <paramref name="input"/> to <paramref name="output"/>: nested expansions
    /// write into the same list instead of each returning one to copy.</summary>
    /// <summary>How many replacements may be rescanned inside one another (a chain of object-like macros nests
    /// one per link). Rescanning is a loop over an explicit stack, so this bounds memory, not the thread's stack.</summary>
    public const int MaxRescanNesting = 4096;

    private sealed class Frame
    {
        public Frame(List<Token> input, Disabled? disabled) { Input = input; Disabled = disabled; }
        public List<Token> Input { get; }
        public Disabled? Disabled { get; }
        public int Next;
    }

    private void ExpandInto(List<Token> output, List<Token> input, Disabled? disabled, int depth)
    {
        // depth counts only the recursion of argument pre-expansion; rescanning a replacement pushes a frame.
        if (depth > MaxExpansionDepth || !StackLeft())
        {
            if (input.Count > 0) Report(DiagnosticIds.LimitExceeded, HeaderSeverity.Error, $"macro arguments nested deeper than {MaxExpansionDepth} levels (the generator's limit)", input[0]);
            return;
        }
        if (input.Count > 0) Spend(input.Count, input[0]);
        var frames = new Stack<Frame>();
        frames.Push(new Frame(input, disabled));
        while (frames.Count > 0)
        {
            var f = frames.Peek();
            if (f.Next >= f.Input.Count) { frames.Pop(); continue; }
            var t = f.Input[f.Next++];
            if (!t.IsIdentifier || t.NoExpand || !_macros.TryGetValue(t.Text, out var m))
            {
                output.Add(t);
                continue;
            }
            if (Disabled.Contains(f.Disabled, t.Text))
            {
                _painted++;
                output.Add(t.Painted());
                continue;
            }
            if (!m.IsFunction && _known is not null && _known.TryGetValue(t.Text, out var value))
            {
                foreach (var v in value) output.Add(Relocate(v, t));
                continue;
            }
            List<Token> replacement;
            if (!m.IsFunction)
            {
                replacement = new List<Token>(m.Body.Count);
                foreach (var b in m.Body)
                    replacement.Add(Relocate(b, t));
                if (replacement.Count > 0) replacement[0] = replacement[0].WithSpace(t.SpaceBefore);
                replacement = Paste(replacement, t);
            }
            else
            {
                if (f.Next >= f.Input.Count || !f.Input[f.Next].Is("("))
                {
                    output.Add(t);
                    continue;
                }
                var args = CollectArguments(f.Input, f.Next, out int end);
                if (args is null)
                {
                    Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"unterminated call of macro '{t.Text}'", t);
                    output.Add(t);
                    continue;
                }
                f.Next = end + 1;
                if (!FitArguments(m, args, t)) continue;
                replacement = Substitute(m, args, t, f.Disabled, depth);
            }
            var inherited = f.Disabled;
            if (f.Next >= f.Input.Count) frames.Pop(); // a tail expansion replaces its frame: alias chains stay flat
            if (frames.Count >= MaxRescanNesting)
            {
                Report(DiagnosticIds.LimitExceeded, HeaderSeverity.Error, $"macro expansion at '{t.Text}' nests more than {MaxRescanNesting} replacements (the generator's limit)", t);
                throw new BudgetExceeded();
            }
            if (replacement.Count > 0) Spend(replacement.Count, t);
            frames.Push(new Frame(replacement, new Disabled(m.Name, inherited)));
        }
    }

    private static bool StackLeft()
    {
        try
        {
            RuntimeHelpers.EnsureSufficientExecutionStack();
            return true;
        }
        catch (InsufficientExecutionStackException)
        {
            return false;
        }
    }

    /// <summary>The macros being expanded around a token (C's "disabled" set), as a list: it is a few deep at most,
    /// and each expansion pushes one name without copying the others.</summary>
    private sealed class Disabled
    {
        public Disabled(string name, Disabled? next) { Name = name; Next = next; }
        public string Name { get; }
        public Disabled? Next { get; }

        public static bool Contains(Disabled? list, string name)
        {
            for (var d = list; d is not null; d = d.Next)
                if (d.Name == name) return true;
            return false;
        }
    }

    private static Token Relocate(Token body, Token use) =>
        new(body.Kind, body.Text, use.File, use.Line, use.Column, body.SpaceBefore, body.NoExpand);

    private static List<List<Token>>? CollectArguments(List<Token> input, int open, out int end)
    {
        var args = new List<List<Token>> { new() };
        int level = 0;
        for (int j = open + 1; j < input.Count; j++)
        {
            var a = input[j];
            if (a.Is("(")) level++;
            else if (a.Is(")"))
            {
                if (level == 0) { end = j; return args; }
                level--;
            }
            else if (a.Is(",") && level == 0) { args.Add(new List<Token>()); continue; }
            args[args.Count - 1].Add(a);
        }
        end = input.Count - 1;
        return null;
    }

    private bool FitArguments(Macro m, List<List<Token>> args, Token at)
    {
        if (m.Parameters.Count == 0 && args.Count == 1 && args[0].Count == 0) { args.Clear(); return true; }
        if (m.IsVariadic && args.Count > m.Parameters.Count)
        {
            // Fold the extra arguments into __VA_ARGS__, commas included.
            var va = args[m.Parameters.Count - 1];
            for (int k = m.Parameters.Count; k < args.Count; k++)
            {
                va.Add(new Token(TokenKind.Punct, ",", at.File, at.Line, at.Column, false));
                va.AddRange(args[k]);
            }
            args.RemoveRange(m.Parameters.Count, args.Count - m.Parameters.Count);
        }
        if (m.IsVariadic && args.Count == m.Parameters.Count - 1) args.Add(new List<Token>());
        if (args.Count != m.Parameters.Count)
        {
            Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"macro '{m.Name}' takes {m.Parameters.Count} argument(s), given {args.Count}", at);
            return false;
        }
        return true;
    }

    private List<Token> Substitute(Macro m, List<List<Token>> args, Token use, Disabled? disabled, int depth)
    {
        var result = new List<Token>();
        var body = m.Body;
        for (int k = 0; k < body.Count; k++)
        {
            var b = body[k];
            if (b.Is("#") && k + 1 < body.Count && m.Parameters.IndexOf(body[k + 1].Text) is int sp && sp >= 0)
            {
                var text = Lexer.Render(args[sp]).Replace("\\", "\\\\").Replace("\"", "\\\"");
                result.Add(new Token(TokenKind.String, "\"" + text + "\"", use.File, use.Line, use.Column, b.SpaceBefore));
                k++;
                continue;
            }
            int p = b.IsIdentifier ? m.Parameters.IndexOf(b.Text) : -1;
            if (p < 0)
            {
                result.Add(Relocate(b, use));
                continue;
            }
            bool pasted = (k > 0 && body[k - 1].Is("##")) || (k + 1 < body.Count && body[k + 1].Is("##"));
            var arg = pasted ? args[p] : Expand(args[p], disabled, depth + 1);
            for (int a = 0; a < arg.Count; a++) result.Add(a == 0 ? arg[a].WithSpace(b.SpaceBefore) : arg[a]);
            if (arg.Count == 0 && pasted)
                result.Add(new Token(TokenKind.Punct, "", use.File, use.Line, use.Column, false)); // placemarker
        }
        if (result.Count > 0) result[0] = result[0].WithSpace(use.SpaceBefore);
        return Paste(result, use);
    }

    private List<Token> Paste(List<Token> tokens, Token use)
    {
        bool paste = false, placemarker = false;
        foreach (var t in tokens)
        {
            if (t.Is("##")) paste = true;
            else if (t.Text.Length == 0) placemarker = true;
        }
        if (!paste) return placemarker ? tokens.Where(t => t.Text.Length > 0).ToList() : tokens;
        var result = new List<Token>();
        for (int k = 0; k < tokens.Count; k++)
        {
            if (tokens[k].Is("##") && result.Count > 0 && k + 1 < tokens.Count)
            {
                var left = result[result.Count - 1];
                var right = tokens[k + 1];
                string text = left.Text + right.Text;
                var lexed = Lexer.Lex(text, use.File).SelectMany(l => l.Tokens).ToList();
                if (lexed.Count > 1)
                    Report(DiagnosticIds.PreprocessorSyntax, HeaderSeverity.Error, $"pasting '{left.Text}' and '{right.Text}' does not give a valid token", use);
                result[result.Count - 1] = new Token(lexed.Count > 0 ? lexed[0].Kind : TokenKind.Punct, text, use.File, use.Line, use.Column, left.SpaceBefore);
                k++;
                continue;
            }
            result.Add(tokens[k]);
        }
        return result.Where(t => t.Text.Length > 0).ToList();
    }
}
