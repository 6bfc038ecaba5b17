using System;
using System.Collections.Generic;
using System.Linq;
using Kvm.Generators.Model;

namespace Kvm.Generators.Preprocessing;

/// <summary>
/// The headers the generator may read, found by include name through ordered include roots, like the C
/// compiler's <c>-I</c>. Lexed lines are cached per file, since guards make many headers re-read.
/// </summary>
public sealed class HeaderSet
{
    private readonly Dictionary<string, HeaderFile> _byPath = new(StringComparer.Ordinal);
    private readonly List<string> _roots;
    private readonly Dictionary<string, List<SourceLine>> _lines = new(StringComparer.Ordinal);

    private readonly Func<string, string?>? _reader;

    /// <param name="reader">Optional: reads a header by path when it is not among <paramref name="files"/>
    /// (the command-line tool reads include directories lazily; the Roslyn generator never touches the disk).</param>
    public HeaderSet(IEnumerable<HeaderFile> files, IEnumerable<string> includeRoots, Func<string, string?>? reader = null)
    {
        _reader = reader;
        foreach (var f in files) _byPath[Normalize(f.Path)] = f;
        _roots = includeRoots.Select(r => Normalize(r).TrimEnd('/')).Where(r => r.Length > 0).ToList();
    }

    public IReadOnlyList<string> Roots => _roots;

    public static string Normalize(string path)
    {
        var p = path.Replace('\\', '/');
        var parts = new List<string>();
        foreach (var part in p.Split('/'))
        {
            if (part == "." || (part.Length == 0 && parts.Count > 0)) continue;
            if (part == ".." && parts.Count > 0 && parts[parts.Count - 1] != "..") { parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        return string.Join("/", parts);
    }

    public static string DirectoryOf(string path)
    {
        var p = Normalize(path);
        int slash = p.LastIndexOf('/');
        return slash < 0 ? "" : p.Substring(0, slash);
    }

    public HeaderFile? Resolve(string includeName, string? currentDirectory, bool quoted)
    {
        if (quoted && currentDirectory is not null && _byPath.TryGetValue(Normalize(currentDirectory + "/" + includeName), out var local))
            return local;
        if (quoted && currentDirectory is not null && Load(Normalize(currentDirectory + "/" + includeName)) is { } localFile)
            return localFile;
        foreach (var root in _roots)
            if (Load(Normalize(root + "/" + includeName)) is { } f)
                return f;
        return null;
    }

    /// <summary>Every header read so far (supplied or loaded).</summary>
    public IEnumerable<HeaderFile> Files => _byPath.Values;

    private HeaderFile? Load(string path)
    {
        if (_byPath.TryGetValue(path, out var f)) return f;
        if (_reader?.Invoke(path) is not { } text) return null;
        f = new HeaderFile(path, text);
        _byPath[path] = f;
        return f;
    }

    private readonly Dictionary<string, List<LexProblem>> _problems = new(StringComparer.Ordinal);

    public List<SourceLine> Lines(HeaderFile file)
    {
        if (!_lines.TryGetValue(file.Path, out var lines))
        {
            var problems = new List<LexProblem>();
            lines = Lexer.Lex(file.Text, file.Path, problems);
            _lines[file.Path] = lines;
            _problems[file.Path] = problems;
        }
        return lines;
    }

    /// <summary>The lexical errors of a file already lexed by <see cref="Lines"/>.</summary>
    public IReadOnlyList<LexProblem> Problems(HeaderFile file) =>
        _problems.TryGetValue(file.Path, out var p) ? p : (IReadOnlyList<LexProblem>)Array.Empty<LexProblem>();

    public string DescribeRoots() => _roots.Count == 0 ? "no include roots given" : string.Join(", ", _roots);
}
