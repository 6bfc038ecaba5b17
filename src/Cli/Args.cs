using System.CommandLine;
using System.CommandLine.Parsing;

namespace Kvm.Cli;

/// <summary>
/// What one parsed command line gave a command: its options by name (without the dashes), its flags and its
/// positional arguments. System.CommandLine has already refused anything the command does not declare, so the
/// command bodies read values by name and keep their own cross-option rules.
/// </summary>
internal sealed class Args
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public Args(ParseResult result)
    {
        foreach (var child in result.CommandResult.Children)
        {
            switch (child)
            {
                case OptionResult option when option.Option.ValueType == typeof(bool):
                    if (result.GetValue((Option<bool>)option.Option)) _flags.Add(Name(option.Option));
                    break;
                case OptionResult option:
                    var name = Name(option.Option);
                    if (!_options.TryGetValue(name, out var values)) _options[name] = values = new List<string>();
                    values.AddRange(option.Tokens.Select(t => t.Value));
                    break;
                case ArgumentResult argument:
                    Positionals.AddRange(argument.Tokens.Select(t => t.Value));
                    break;
            }
        }
    }

    private static string Name(Option option) => option.Name.TrimStart('-');

    public List<string> Positionals { get; } = new();

    public bool Flag(string name) => _flags.Contains(name);

    public IReadOnlyList<string> All(string name) => _options.TryGetValue(name, out var v) ? v : new List<string>();

    public string? One(string name) => _options.TryGetValue(name, out var v) && v.Count > 0 ? v[v.Count - 1] : null;

    /// <summary>Guards a command body against a declaration it does not read: an option the command line declares for
    /// this command but the body does not know is a programming error, reported as a usage error rather than ignored.</summary>
    public void RejectUnknown(params string[] known)
    {
        foreach (var k in _options.Keys.Concat(_flags))
            if (!known.Contains(k)) throw new UsageException($"unknown option --{k}");
    }
}

internal sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}
