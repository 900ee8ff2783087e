using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Sessions.Api.Diagrams;
using Sessions.Api.Http;
using Sessions.Api.Security;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Storage;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Workflows;

namespace Sessions.Api.Protocols.LangGraph;

/// <summary>
/// LangGraph's Agent Server API, at the server's root, so that `new Client({ apiUrl })` of `@langchain/langgraph-sdk`
/// (and `useStream`, agent-chat-ui and the like) talks to Sessions: an assistant is a workflow, a thread a run, a
/// LangGraph run one turn of it, an interrupt what the run waits for. Every turn goes through the run facade, as
/// execute's do: one history, one set of guarantees. What the API asks that a workflow cannot do (rollback, state
/// updates, crons, stateless runs) is refused with `not_supported` and why.
/// </summary>
public static partial class LangGraphEndpoints
{
    private const string Tag = "LangGraph";

    public static IEndpointRouteBuilder MapLangGraph(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/info", Info).WithTags(Tag).WithName("LangGraphInfo")
            .WithSummary("LangGraph: what this server is")
            .WithDescription("The server's version and the LangGraph features it carries (no crons, no store).")
            .Produces<JsonObject>();
        routes.MapGet("/ok", () => TypedResults.Ok(new JsonObject { ["ok"] = true })).WithTags(Tag).WithName("LangGraphOk")
            .WithSummary("LangGraph: liveness").Produces<JsonObject>();

        var assistants = routes.MapGroup("/assistants").WithTags(Tag);
        assistants.MapPost("/search", SearchAssistants).WithName("LangGraphSearchAssistants")
            .WithSummary("LangGraph: list assistants (the workflows)")
            .WithDescription("Body: graph_id or name to filter by, limit (10), offset (0). Each workflow is an assistant under its workflow_id, as assistant_id and graph_id.")
            .Produces<List<LangGraphAssistant>>()
            .ProducesProblems(StatusCodes.Status400BadRequest);
        assistants.MapPost("/", CreateAssistant).WithName("LangGraphCreateAssistant")
            .WithSummary("LangGraph: create an assistant (refused)")
            .WithDescription("Refused with 422 not_supported: an assistant is a workflow; upload one with POST /v1/workflows.")
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity);
        assistants.MapGet("/{assistant_id}", GetAssistant).WithName("LangGraphGetAssistant")
            .WithSummary("LangGraph: an assistant (a workflow)")
            .Produces<LangGraphAssistant>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        assistants.MapGet("/{assistant_id}/graph", GetGraph).WithName("LangGraphGetGraph")
            .WithSummary("LangGraph: the assistant's graph (the active version's nodes and edges)")
            .WithDescription("Nodes as `runnable`, with `__start__` and `__end__`; an edge that a condition, a default or a timeout chose is `conditional`.")
            .Produces<JsonObject>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        assistants.MapGet("/{assistant_id}/schemas", GetSchemas).WithName("LangGraphGetSchemas")
            .WithSummary("LangGraph: the assistant's schemas (its variables)")
            .WithDescription("The state and input schemas are the workflow's declared variables, typed by their initial values, plus messages (the conversation).")
            .Produces<JsonObject>()
            .ProducesProblems(StatusCodes.Status404NotFound);
        assistants.MapPost("/{assistant_id}/versions", ListAssistantVersions).WithName("LangGraphAssistantVersions")
            .WithSummary("LangGraph: the assistant's versions (the workflow's versions)")
            .Produces<List<LangGraphAssistantVersion>>()
            .ProducesProblems(StatusCodes.Status404NotFound);

        MapThreads(routes.MapGroup("/threads").WithTags(Tag));
        MapStatelessRuns(routes.MapGroup("/runs").WithTags(Tag));
        return routes;
    }

    private static Ok<JsonObject> Info() => TypedResults.Ok(new JsonObject
    {
        ["version"] = typeof(LangGraphEndpoints).Assembly.GetName().Version?.ToString(),
        ["langgraph_js_version"] = null,
        ["flags"] = new JsonObject { ["assistants"] = true, ["crons"] = false, ["langsmith"] = false, ["store"] = false },
        ["server"] = "sessions",
    });

    private static async Task<Ok<List<LangGraphAssistant>>> SearchAssistants(HttpRequest request, RequestBody body, WorkflowService workflows, Caller caller, CancellationToken ct)
    {
        var search = await body.ReadJsonAsync(request, ct) as JsonObject ?? [];
        var (limit, offset) = Paging(search);
        var graphId = Text(search, "graph_id");
        var name = Text(search, "name");
        var found = new List<LangGraphAssistant>();
        if (graphId is not null)
        {
            // One workflow at most: its id is the graph's.
            if (Sessions.Runtime.Ids.ObjectId.TryParse(graphId, out _) && await workflows.ExistsAsync(caller.TenantId, graphId, ct))
            {
                found.Add(Assistant(await workflows.GetAsync(caller.TenantId, graphId, ct)));
            }

            return TypedResults.Ok(found.Skip(offset).Take(limit).ToList());
        }

        // Workflows come a page at a time; an offset may start inside one.
        const int PageSize = 100;
        var page = offset / PageSize + 1;
        var skip = offset % PageSize;
        while (found.Count < limit)
        {
            var listed = await workflows.ListAsync(caller.TenantId, new WorkflowQuery { NameContains = name, Page = page, Limit = PageSize }, ct);
            found.AddRange(listed.Items.Skip(skip).Select(Assistant));
            if (listed.Items.Count < PageSize)
            {
                break;
            }

            (page, skip) = (page + 1, 0);
        }

        return TypedResults.Ok(found.Take(limit).ToList());
    }

    private static IResult CreateAssistant() => throw new DomainException(
        ErrorKind.Unprocessable,
        ProblemCodes.NotSupported,
        "Assistants are workflows",
        "An assistant here is a workflow: upload one with POST /v1/workflows, and use its workflow_id as assistant_id.");

    private static async Task<Ok<LangGraphAssistant>> GetAssistant([FromRoute(Name = "assistant_id")] string assistantId, WorkflowService workflows, Caller caller, CancellationToken ct) =>
        TypedResults.Ok(Assistant(await workflows.GetAsync(caller.TenantId, LangGraphIds.AssistantOrThrow(assistantId), ct)));

    private static async Task<Ok<JsonObject>> GetGraph(
        [FromRoute(Name = "assistant_id")] string assistantId, WorkflowService workflows, DefinitionCache definitions, Caller caller, CancellationToken ct)
    {
        var workflow = await workflows.GetAsync(caller.TenantId, LangGraphIds.AssistantOrThrow(assistantId), ct);
        var version = await workflows.GetVersionAsync(caller.TenantId, workflow.Id, workflow.ActiveVersion, ct);
        var definition = await definitions.GetRequiredAsync(caller.TenantId, workflow.Id, workflow.ActiveVersion, ct);
        var graph = WorkflowGraph.From(definition, version.DefinitionJson);

        var nodes = new JsonArray(Schema("__start__"));
        foreach (var node in graph.Nodes)
        {
            nodes.Add(new JsonObject
            {
                ["id"] = node.Id,
                ["type"] = "runnable",
                ["data"] = new JsonObject { ["id"] = new JsonArray("sessions", node.Type), ["name"] = node.Id },
                ["metadata"] = new JsonObject { ["type"] = node.Type, ["detail"] = node.Detail },
            });
        }

        nodes.Add(Schema("__end__"));
        var edges = new JsonArray(Edge("__start__", graph.Start, conditional: false));
        foreach (var edge in graph.Edges)
        {
            edges.Add(Edge(edge.From, edge.To, edge.Label is not null, edge.Label));
        }

        // A run ends at its end and fail nodes: there the graph reaches __end__.
        foreach (var node in graph.Nodes.Where(n => n.Type is "end" or "fail"))
        {
            edges.Add(Edge(node.Id, "__end__", conditional: false));
        }

        return TypedResults.Ok(new JsonObject { ["nodes"] = nodes, ["edges"] = edges });

        static JsonObject Schema(string id) => new() { ["id"] = id, ["type"] = "schema", ["data"] = id };

        static JsonObject Edge(string source, string target, bool conditional, string? label = null)
        {
            var edge = new JsonObject { ["source"] = source, ["target"] = target, ["conditional"] = conditional };
            if (label is not null)
            {
                edge["data"] = label;
            }

            return edge;
        }
    }

    private static async Task<Ok<JsonObject>> GetSchemas(
        [FromRoute(Name = "assistant_id")] string assistantId, WorkflowService workflows, DefinitionCache definitions, Caller caller, CancellationToken ct)
    {
        var workflow = await workflows.GetAsync(caller.TenantId, LangGraphIds.AssistantOrThrow(assistantId), ct);
        var definition = await definitions.GetRequiredAsync(caller.TenantId, workflow.Id, workflow.ActiveVersion, ct);
        var properties = new JsonObject();
        foreach (var (name, value) in definition.NewVariables())
        {
            properties[name] = TypeOf(value);
        }

        properties["messages"] = new JsonObject
        {
            ["type"] = "array",
            ["description"] = "The conversation: the person's replies (human) and what the workflow said (ai).",
            ["items"] = new JsonObject { ["type"] = "object" },
        };
        var state = new JsonObject { ["title"] = workflow.Name, ["type"] = "object", ["properties"] = properties };
        return TypedResults.Ok(new JsonObject
        {
            ["graph_id"] = workflow.Id,
            ["input_schema"] = state.DeepClone(),
            ["output_schema"] = state.DeepClone(),
            ["state_schema"] = state,
            ["config_schema"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() },
            ["context_schema"] = null,
        });

        static JsonObject TypeOf(JsonNode? value) => value?.GetValueKind() switch
        {
            JsonValueKind.String => new() { ["type"] = "string" },
            JsonValueKind.Number => new() { ["type"] = "number" },
            JsonValueKind.True or JsonValueKind.False => new() { ["type"] = "boolean" },
            JsonValueKind.Array => new() { ["type"] = "array" },
            JsonValueKind.Object => new() { ["type"] = "object" },
            _ => new(),
        };
    }

    private static async Task<Ok<List<LangGraphAssistantVersion>>> ListAssistantVersions(
        [FromRoute(Name = "assistant_id")] string assistantId, WorkflowService workflows, Caller caller, CancellationToken ct)
    {
        var workflow = await workflows.GetAsync(caller.TenantId, LangGraphIds.AssistantOrThrow(assistantId), ct);
        var versions = await workflows.ListVersionsAsync(caller.TenantId, workflow.Id, ct);
        return TypedResults.Ok(versions.OrderByDescending(v => v.VersionNumber)
            .Select(v => new LangGraphAssistantVersion(workflow.Id, workflow.Id, v.VersionNumber, v.Name, [], [], [], v.CreatedAt))
            .ToList());
    }

    private static LangGraphAssistant Assistant(WorkflowDocument workflow) =>
        new(workflow.Id, workflow.Id, workflow.ActiveVersion, workflow.Name, workflow.Description, [], [], [], workflow.CreatedAt, workflow.UpdatedAt);

    /// <summary>`limit` (1 to 1000, 10 when absent) and `offset` (0 or more) of a search body, or a 400 naming the wrong one.</summary>
    private static (int Limit, int Offset) Paging(JsonObject search)
    {
        var errors = new List<FieldError>();
        var limit = Number(search, "limit", 10, 1, 1000, errors);
        var offset = Number(search, "offset", 0, 0, int.MaxValue, errors);
        return errors.Count == 0 ? (limit, offset) : throw FieldErrors.Refusal(errors);

        static int Number(JsonObject search, string name, int fallback, int min, int max, List<FieldError> errors)
        {
            if (search[name] is null)
            {
                return fallback;
            }

            if (search[name] is JsonValue value && value.TryGetValue<int>(out var number) && number >= min && number <= max)
            {
                return number;
            }

            errors.Add(new FieldError($"$.{name}", $"{name} is a whole number from {min} to {max}."));
            return fallback;
        }
    }

    private static string? Text(JsonObject body, string name) =>
        body[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
}
