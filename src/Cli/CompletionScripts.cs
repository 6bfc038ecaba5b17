namespace Kvm.Cli;

/// <summary>
/// `kvmsdk completions bash|zsh`: shell functions that ask kvmsdk itself what may come next, through
/// System.CommandLine's <c>[suggest:POSITION]</c> directive, so completion always matches the installed tool.
/// </summary>
internal static class CompletionScripts
{
    private const string Bash = """
        # kvmsdk completion for bash: eval "$(kvmsdk completions bash)"
        _kvmsdk_complete() {
          local IFS=$'\n' line=${COMP_LINE#*kvmsdk} ; local point=$(( COMP_POINT - (${#COMP_LINE} - ${#line}) ))
          COMPREPLY=( $(command kvmsdk "[suggest:$point]" "$line" 2>/dev/null) )
        }
        complete -o default -F _kvmsdk_complete kvmsdk
        """;

    private const string Zsh = """
        # kvmsdk completion for zsh: eval "$(kvmsdk completions zsh)"
        _kvmsdk_complete() {
          local line=${BUFFER#*kvmsdk} ; local point=$(( CURSOR - (${#BUFFER} - ${#line}) ))
          local -a items ; items=( ${(f)"$(command kvmsdk "[suggest:$point]" "$line" 2>/dev/null)"} )
          compadd -- $items
        }
        compdef _kvmsdk_complete kvmsdk
        """;

    public static int Print(string shell)
    {
        Console.Out.WriteLine(shell == "zsh" ? Zsh : Bash);
        return 0;
    }
}
