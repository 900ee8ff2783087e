using System.CommandLine;
using Sessions.Cli;

// The commands and their options; each command's work is in its own class.
var url = new Option<string>("--url")
{
    Description = "The server's address (or SESSIONS_URL); http://127.0.0.1:5080 by default.",
    Recursive = true,
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SESSIONS_URL") is { Length: > 0 } address ? address : "http://127.0.0.1:5080",
};
url.Validators.Add(result =>
{
    if (!Uri.TryCreate(result.GetValueOrDefault<string>(), UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
    {
        result.AddError($"--url takes the server's http(s) address, not '{result.GetValueOrDefault<string>()}'.");
    }
});
var apiKey = new Option<string?>("--api-key")
{
    Description = "An API key of the server (or SESSIONS_API_KEY).",
    Recursive = true,
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SESSIONS_API_KEY") is { Length: > 0 } key ? key : null,
};

var root = new RootCommand("Sessions: chat with a workflow, validate and upload definitions, read and replay runs, run the server.");
root.Options.Add(url);
root.Options.Add(apiKey);
Sessions.Client.SessionsClient Connect(ParseResult parsed) => Sessions.Client.SessionsClient.Create(new Uri(parsed.GetValue(url)!), parsed.GetValue(apiKey));

var workflowArgument = new Argument<string>("workflow") { Description = "The workflow's id." };
var variables = new Option<string[]>("--var") { Description = "A variable of the first turn, as name=value (repeatable).", AllowMultipleArgumentsPerToken = false };
var chat = new Command("chat", "Chat with a workflow: what it says, its questions, your replies. Through a pipe, one reply per line.") { workflowArgument, variables };
chat.SetAction((parsed, ct) => new ChatCommand(Connect(parsed), Terminal.For(Console.IsInputRedirected || Console.IsOutputRedirected)).RunAsync(parsed.GetValue(workflowArgument)!, parsed.GetValue(variables) ?? [], ct));
root.Subcommands.Add(chat);

var file = new Argument<FileInfo>("file") { Description = "A workflow definition (JSON)." };
var validate = new Command("validate", "Check a definition as the server would, without one: every problem with its path; exit 1 if there are errors.") { file };
validate.SetAction((parsed, ct) => Task.FromResult(ValidateCommand.Run(parsed.GetValue(file)!, Console.Out)));
root.Subcommands.Add(validate);

var uploadFile = new Argument<FileInfo>("file") { Description = "A workflow definition (JSON)." };
var upload = new Command("upload", "Upload a definition as a new workflow; prints its id.") { uploadFile };
upload.SetAction((parsed, ct) => ReadCommands.UploadAsync(Connect(parsed), parsed.GetValue(uploadFile)!, Console.Out, ct));
root.Subcommands.Add(upload);

var workflowFilter = new Option<string?>("--workflow") { Description = "Only this workflow's runs." };
var statusFilter = new Option<string?>("--status") { Description = "Only runs in these statuses (comma-separated)." };
var limit = new Option<int>("--limit") { Description = "At most this many runs.", DefaultValueFactory = _ => 20 };
var runs = new Command("runs", "List runs, newest first.") { workflowFilter, statusFilter, limit };
runs.SetAction((parsed, ct) => ReadCommands.RunsAsync(Connect(parsed), parsed.GetValue(workflowFilter), parsed.GetValue(statusFilter), parsed.GetValue(limit), ct));
root.Subcommands.Add(runs);

var runArgument = new Argument<string>("run") { Description = "The run's id." };
var run = new Command("run", "A run as a readable transcript.") { runArgument };
run.SetAction((parsed, ct) => ReadCommands.RunAsync(Connect(parsed), parsed.GetValue(runArgument)!, Console.Out, ct));
root.Subcommands.Add(run);

var replayRun = new Argument<string>("run") { Description = "The run to replay." };
var version = new Option<int?>("--version") { Description = "The version to replay it on (default: the active one)." };
var replayCalls = new Option<string?>("--calls") { Description = "recorded (the default: model and HTTP calls answered from the run's recording) or live (made again)." };
replayCalls.AcceptOnlyFromAmong("recorded", "live");
var onChanged = new Option<string?>("--on-changed") { Description = "With recorded calls, for a call that differs from the recording: stop (the default) or live." };
onChanged.AcceptOnlyFromAmong("stop", "live");
var replay = new Command("replay", "Replay a run's recorded inputs on a version, and show turn by turn where it differs.") { replayRun, version, replayCalls, onChanged };
replay.SetAction((parsed, ct) => ReadCommands.ReplayAsync(
    Connect(parsed), parsed.GetValue(replayRun)!, new Sessions.Client.ReplayRequest(parsed.GetValue(version), parsed.GetValue(replayCalls), parsed.GetValue(onChanged)), Console.Out, ct));
root.Subcommands.Add(replay);

var serve = new Command("serve", "Run the server with the embedded store and the samples (more arguments go to it, e.g. --urls).");
serve.TreatUnmatchedTokensAsErrors = false;
serve.SetAction((parsed, ct) => ServeCommand.RunAsync(parsed.UnmatchedTokens, ct));
root.Subcommands.Add(serve);

return await root.Parse(args).InvokeAsync();
