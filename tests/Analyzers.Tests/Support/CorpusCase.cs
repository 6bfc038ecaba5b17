using System.Text.RegularExpressions;

namespace Kvm.Analyzers.Tests.Support;

/// <summary>One independent program of the scoring corpus: the code between two <c>//// case:</c> lines of a file
/// under Corpus/, with the diagnostics it should raise marked on their lines (<c>// expect: KVM1006</c>) and optional
/// analyzer configuration (<c>//// config: build_property.X = y</c>).</summary>
internal sealed record CorpusCase(string File, string Name, string Source, IReadOnlyList<string> Config, IReadOnlySet<(int Line, string Id)> Expected)
{
    private static readonly Regex Expect = new(@"//\s*expect:\s*(?<ids>KVM\d{4}(\s*,\s*KVM\d{4})*)", RegexOptions.Compiled);

    /// <summary>Every case of every corpus file, in file order.</summary>
    public static IReadOnlyList<CorpusCase> LoadAll()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Corpus");
        // Subdirectories hold corpora written apart from the rules (Independent/), named by their relative path.
        return Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories)
            .OrderBy(f => Path.GetRelativePath(dir, f), StringComparer.Ordinal)
            .SelectMany(f => Parse(f, Path.GetRelativePath(dir, f).Replace('\\', '/'))).ToList();
    }

    private static IEnumerable<CorpusCase> Parse(string path, string file)
    {
        string? name = null;
        var header = new List<string>();
        var body = new List<string>();
        var config = new List<string>();
        foreach (var line in System.IO.File.ReadAllLines(path))
        {
            if (line.StartsWith("//// case:", StringComparison.Ordinal))
            {
                if (name is not null)
                    yield return Make(file, name, header, body, config);
                name = line["//// case:".Length..].Trim();
                body = new List<string>();
                config = new List<string>();
            }
            else if (line.StartsWith("//// config:", StringComparison.Ordinal))
                config.Add(line["//// config:".Length..].Trim());
            else if (name is null)
                header.Add(line);
            else
                body.Add(line);
        }
        if (name is not null)
            yield return Make(file, name, header, body, config);
    }

    private static CorpusCase Make(string file, string name, List<string> header, List<string> body, List<string> config)
    {
        // The file's header (its usings) precedes every case, so line numbers count from the header.
        var lines = header.Concat(body).ToList();
        var expected = new HashSet<(int, string)>();
        for (var i = 0; i < lines.Count; i++)
            foreach (Match m in Expect.Matches(lines[i]))
                foreach (var id in m.Groups["ids"].Value.Split(',', StringSplitOptions.TrimEntries))
                    expected.Add((i, id));
        return new CorpusCase(file, name, string.Join("\n", lines), config, expected);
    }
}
