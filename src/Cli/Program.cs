using System.CommandLine;
using System.CommandLine.Parsing;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Kvm.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        var root = KvmsdkCommands.Build();
        var result = root.Parse(args);
        if (args.Length == 0)
        {
            // No command: the overview, on stderr since it is not what was asked for, and a usage status.
            root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = Console.Error });
            return 2;
        }
        if (result.Errors.Count > 0)
            return UsageError(result, FirstProblem(result));
        try
        {
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            return UsageError(result, e.Message);
        }
    }

    private static int UsageError(ParseResult result, string message)
    {
        Console.Error.WriteLine($"kvmsdk: {message}");
        Console.Error.WriteLine($"run '{CommandPath(result.CommandResult)} --help' for its options");
        return 2;
    }

    // One message a user can act on, in the words the rest of the tool uses; System.CommandLine's own text otherwise.
    private static string FirstProblem(ParseResult result)
    {
        var command = result.CommandResult.Command;
        foreach (var token in result.UnmatchedTokens)
        {
            if (token.StartsWith('-')) return $"unknown option {token.Split('=')[0]}";
            if (command.Subcommands.Count > 0) return $"unknown command '{token}' for '{CommandPath(result.CommandResult)}'";
            if (command.Arguments.Count == 0) return $"{command.Name} takes no arguments (got '{token}')";
            return $"unexpected argument '{token}'";
        }
        var error = result.Errors[0];
        if (error.SymbolResult is OptionResult { Tokens.Count: 0 } option)
            return $"option {option.Option.Name} needs a value";
        if (error.SymbolResult is CommandResult { Command.Subcommands.Count: > 0 } parent && !parent.Children.Any())
            return $"'{CommandPath(parent)}' needs a command: {string.Join(", ", parent.Command.Subcommands.Select(c => c.Name))}";
        return error.Message;
    }

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? s = command; s is CommandResult c; s = c.Parent)
            names.Insert(0, c.Parent is null ? "kvmsdk" : c.Command.Name);
        return string.Join(' ', names);
    }
}
