using System.Text.Json.Nodes;
using Sessions.Runtime.Inputs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Nodes;

public enum NodeOutcome
{
    Continue,
    AwaitInput,
    Pause,
    End,
    Fail,
    RejectReply,
}

/// <summary>A wait's timer as its node declares it; the runtime dates it and keeps it with the run.</summary>
public sealed record NodeTimer(TimeSpan After, string ContinueAt);

/// <summary>What an `ask` node waits for, as sent in `next_input_hint`.</summary>
public sealed record InputHint(string NodeId, string Prompt, InputSpec Input)
{
    public JsonObject ToJson() => new()
    {
        ["node_id"] = NodeId,
        ["prompt"] = Prompt,
        ["input"] = Input.Json.DeepClone(),
    };
}

/// <summary>What happened when a node ran: where to go, what to assign, what to record. The runtime applies it.</summary>
public sealed record NodeResult
{
    private NodeResult(NodeOutcome outcome) => Outcome = outcome;

    public NodeOutcome Outcome { get; }

    public string? NextNodeId { get; private init; }

    /// <summary>For a branch: the case that chose <see cref="NextNodeId"/>, recorded on the `conditional_edge` event.</summary>
    public JsonObject? MatchedCase { get; private init; }

    public InputHint? Hint { get; private init; }

    public JsonNode? Output { get; private init; }

    public string? Error { get; private init; }

    /// <summary>For a rejected reply: what the node expected, in words.</summary>
    public string? Expected { get; private init; }

    public IReadOnlyDictionary<string, JsonNode?> Assignments { get; private init; } = new Dictionary<string, JsonNode?>();

    /// <summary>Events the handler asks the runtime to record, in order; the runtime stamps seq, node, turn and time.</summary>
    public IReadOnlyList<RunEventPayload> Events { get; private init; } = [];

    /// <summary>For a wait (an ask, a pause): how long it lasts before the run continues by itself, and where.</summary>
    public NodeTimer? Timer { get; private init; }

    public static NodeResult Next(string nextNodeId) => new(NodeOutcome.Continue) { NextNodeId = nextNodeId };

    public static NodeResult Branch(string nextNodeId, JsonObject matchedCase) =>
        new(NodeOutcome.Continue) { NextNodeId = nextNodeId, MatchedCase = matchedCase };

    public static NodeResult AwaitInput(InputHint hint) => new(NodeOutcome.AwaitInput) { Hint = hint };

    public static NodeResult Pause(string nextNodeId) => new(NodeOutcome.Pause) { NextNodeId = nextNodeId };

    public static NodeResult End(JsonNode? output) => new(NodeOutcome.End) { Output = output };

    public static NodeResult Fail(string error) => new(NodeOutcome.Fail) { Error = error };

    public static NodeResult RejectReply(string expected) => new(NodeOutcome.RejectReply) { Expected = expected };

    public NodeResult Assign(IReadOnlyDictionary<string, JsonNode?> assignments) => this with { Assignments = assignments };

    public NodeResult Emit(RunEventPayload recorded) => this with { Events = [.. Events, recorded] };

    public NodeResult WithTimer(TimeSpan after, string continueAt) => this with { Timer = new NodeTimer(after, continueAt) };
}
