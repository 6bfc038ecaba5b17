namespace Kvm.Cli;

/// <summary>A small POSIX-style argument reader: repeated --name value options, flags, and positionals.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _missingValue = new(StringComparer.Ordinal);

    public Args(IEnumerable<string> args, IReadOnlyCollection<string> flagNames)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (a == "--") { Positionals.AddRange(list.Skip(i + 1)); break; }
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var name = a.Substring(2);
                string? value = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { value = name.Substring(eq + 1); name = name.Substring(0, eq); }
                if (flagNames.Contains(name) && value is null) { _flags.Add(name); continue; }
                if (value is null)
                {
                    // Reported by RejectUnknown (an unknown name first) or when the option is read.
                    if (i + 1 >= list.Count) { _missingValue.Add(name); continue; }
                    value = list[++i];
                }
                if (!_options.TryGetValue(name, out var values)) _options[name] = values = new List<string>();
                values.Add(value);
                continue;
            }
            Positionals.Add(a);
        }
    }

    public List<string> Positionals { get; } = new();

    public bool Flag(string name) => _flags.Contains(name);

    public IReadOnlyList<string> All(string name) { RequireValue(name); return _options.TryGetValue(name, out var v) ? v : new List<string>(); }

    public string? One(string name) { RequireValue(name); return _options.TryGetValue(name, out var v) ? v[v.Count - 1] : null; }

    private void RequireValue(string name)
    {
        if (_missingValue.Contains(name)) throw new UsageException($"option --{name} needs a value");
    }

    public void RejectUnknown(params string[] known)
    {
        foreach (var k in _options.Keys.Concat(_flags).Concat(_missingValue))
            if (!known.Contains(k)) throw new UsageException($"unknown option --{k}");
        foreach (var k in _missingValue)
            throw new UsageException($"option --{k} needs a value");
    }
}

internal sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
