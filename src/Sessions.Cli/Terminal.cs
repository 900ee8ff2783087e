using Sessions.Client;
using Spectre.Console;

namespace Sessions.Cli;

/// <summary>Where a chat is shown and replies come from: a person at a terminal, or a script through a pipe.</summary>
internal abstract class Terminal
{
    /// <summary>The slash commands a reply may be instead.</summary>
    public const string Commands = "/stop ends the run, /pause parks it, /resume continues it, /state shows its variables, /restart starts a new run, /quit leaves it as it is";

    public static Terminal For(bool piped) => piped ? new PipeTerminal(Console.In, Console.Out) : new PersonTerminal(AnsiConsole.Console);

    /// <summary>What the workflow said.</summary>
    public abstract void Said(string text);

    /// <summary>A line about the chat itself: a refusal, the run's status, its state.</summary>
    public abstract void Note(string text);

    /// <summary>The person's answer to what the run waits for; null when there is no more input.</summary>
    public abstract string? Ask(InputHint hint);

    /// <summary>A command when the run waits for no answer (paused); null when there is no more input.</summary>
    public abstract string? AskCommand(string why);
}

/// <summary>Plain lines: what is said as it is, a question as `? prompt`, a reply as `> reply`, notes in brackets; one reply per input line.</summary>
internal sealed class PipeTerminal(TextReader input, TextWriter output) : Terminal
{
    public override void Said(string text) => output.WriteLine(text);

    public override void Note(string text) => output.WriteLine($"[{text}]");

    public override string? Ask(InputHint hint)
    {
        var options = hint.Options.Count > 0 ? $" ({string.Join(", ", hint.Options.Select(o => o.Label))})" : hint.Kind == "boolean" ? " (yes/no)" : string.Empty;
        output.WriteLine($"? {hint.Prompt}{options}");
        return Read();
    }

    public override string? AskCommand(string why)
    {
        output.WriteLine($"? {why}");
        return Read();
    }

    /// <summary>The next reply, shown as `> reply` so that the output reads as the conversation it was.</summary>
    private string? Read()
    {
        output.Flush();
        var line = input.ReadLine();
        if (line is not null)
        {
            output.WriteLine($"> {line}");
        }

        return line;
    }
}

/// <summary>A person at a terminal: a choice as a list to pick from, yes/no as a confirmation, the rest typed.</summary>
internal sealed class PersonTerminal(IAnsiConsole console) : Terminal
{
    public override void Said(string text) => console.MarkupLine($"[bold]{Markup.Escape(text)}[/]");

    public override void Note(string text) => console.MarkupLine($"[grey]{Markup.Escape(text)}[/]");

    public override string? Ask(InputHint hint)
    {
        switch (hint.Kind)
        {
            case "choice" when hint.Options.Count > 0:
                var picked = console.Prompt(new SelectionPrompt<string>()
                    .Title(Markup.Escape(hint.Prompt))
                    .AddChoices(hint.Options.Select(o => o.Label))
                    .AddChoices("/stop", "/state", "/restart", "/quit"));
                return hint.Options.FirstOrDefault(o => o.Label == picked) is { Value: { Length: > 0 } value } ? value : picked;
            case "boolean":
                return console.Prompt(new SelectionPrompt<string>().Title(Markup.Escape(hint.Prompt)).AddChoices("yes", "no", "/stop", "/state", "/quit"));
            default:
                var kind = hint.Kind switch
                {
                    "number" or "integer" => " [grey](a number)[/]",
                    "file" => " [grey](a file's path)[/]",
                    _ => string.Empty,
                };
                return console.Prompt(new TextPrompt<string>($"[yellow]?[/] {Markup.Escape(hint.Prompt)}{kind}").AllowEmpty());
        }
    }

    public override string? AskCommand(string why) =>
        console.Prompt(new TextPrompt<string>($"[yellow]?[/] {Markup.Escape(why)}").AllowEmpty());
}
