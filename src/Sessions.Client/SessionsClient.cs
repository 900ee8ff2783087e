using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace Sessions.Client;

/// <summary>
/// A client of one Sessions server, over an <see cref="HttpClient"/> (from <c>services.AddSessionsClient(...)</c>, or
/// <see cref="Create(SessionsClientOptions)"/>). Every endpoint of the server's `/v1` API is a method here; a refusal is
/// a <see cref="SessionsProblemException"/>. For a conversation, <see cref="StartAsync"/> gives a
/// <see cref="Conversation"/> that carries the run id, the turn number and idempotency keys from turn to turn.
/// </summary>
public sealed class SessionsClient : IDisposable
{
    /// <summary>The header that makes a turn safe to send again: the server answers a repeat with the first answer.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static readonly TimeSpan LongestJoinWait = TimeSpan.FromSeconds(120);

    private readonly HttpClient http;
    private readonly IDisposable? owner;

    /// <summary>A client over <paramref name="http"/>, whose base address is the server's (retries are its handlers' business).</summary>
    public SessionsClient(HttpClient http)
    {
        this.http = http;
    }

    private SessionsClient(HttpClient http, IDisposable owner)
        : this(http)
    {
        this.owner = owner;
    }

    /// <summary>How many times a dropped stream is taken up again before the drop is the caller's.</summary>
    public int MaxReconnects { get; init; } = 5;

    /// <summary>A client with its own handlers (credentials, retries where safe), for programs without dependency injection.</summary>
    public static SessionsClient Create(SessionsClientOptions options)
    {
        var services = new ServiceCollection();
        services.AddSessionsClient(o =>
        {
            o.BaseAddress = options.BaseAddress;
            o.ApiKey = options.ApiKey;
            o.AccessToken = options.AccessToken;
            o.AttemptTimeout = options.AttemptTimeout;
            o.MaxRetries = options.MaxRetries;
        });
        var provider = services.BuildServiceProvider();
        return new SessionsClient(provider.GetRequiredService<IHttpClientFactory>().CreateClient(SessionsServiceCollectionExtensions.ClientName), provider);
    }

    /// <summary>A client of the server at <paramref name="baseAddress"/>, with an API key if it needs one.</summary>
    public static SessionsClient Create(Uri baseAddress, string? apiKey = null) =>
        Create(new SessionsClientOptions { BaseAddress = baseAddress, ApiKey = apiKey });

    // ---------------------------------------------------------------- Conversations

    /// <summary>Starts a run of the workflow and takes its first turn: the conversation, at what the run waits for.</summary>
    public async Task<Conversation> StartAsync(string workflowId, JsonObject? variables = null, RunInput? input = null, int? versionNumber = null, CancellationToken cancellationToken = default)
    {
        var runInput = (input ?? new RunInput()) with { DynamicVariables = variables ?? input?.DynamicVariables };
        var answer = await ExecuteAsync(workflowId, new ExecuteRequest(RunInput: runInput), Guid.NewGuid().ToString("n"), versionNumber, cancellationToken);
        return new Conversation(this, workflowId, answer);
    }

    /// <summary>Accepts a run's first turn to run in the background; join it with <see cref="JoinTurnAsync"/>.</summary>
    public Task<BackgroundTurn> StartInBackgroundAsync(string workflowId, JsonObject? variables = null, RunInput? input = null, int? versionNumber = null, CancellationToken cancellationToken = default) =>
        ExecuteInBackgroundAsync(workflowId, new ExecuteRequest(RunInput: (input ?? new RunInput()) with { DynamicVariables = variables ?? input?.DynamicVariables }), Guid.NewGuid().ToString("n"), versionNumber, cancellationToken);

    /// <summary>
    /// Waits for a background first turn (<see cref="StartInBackgroundAsync"/>) to finish: the conversation, at what the
    /// run then waits for. A first turn the run refused throws that problem.
    /// </summary>
    public async Task<Conversation> JoinAsync(string workflowId, BackgroundTurn accepted, CancellationToken cancellationToken = default) =>
        new(this, workflowId, await JoinTurnAsync(accepted.RunId, accepted.TurnNumber, cancellationToken));

    /// <summary>Takes up a conversation already under way, from its run as stored.</summary>
    public async Task<Conversation> ResumeConversationAsync(string runId, CancellationToken cancellationToken = default)
    {
        var run = await GetRunAsync(runId, cancellationToken);
        return new Conversation(this, run.WorkflowId, new TurnAnswer(run.RunId, run.Status, run.TurnNumber, [], run.Status == RunStatus.WaitingForUserInput, IsTerminal(run.Status), run.Error, run.NextInputHint));
    }

    internal static bool IsTerminal(RunStatus status) => status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled or RunStatus.AbortedLoopingRisk;

    // ---------------------------------------------------------------- Turns

    /// <summary>
    /// One turn: the answer once the run waits, pauses or ends. Under <paramref name="idempotencyKey"/> the turn applies
    /// once however often it is sent (and the client's retries send it again when an answer was lost).
    /// </summary>
    [Endpoint("POST", "/v1/workflows/{workflow_id}/execute")]
    public async Task<TurnAnswer> ExecuteAsync(string workflowId, ExecuteRequest request, string? idempotencyKey = null, int? versionNumber = null, CancellationToken cancellationToken = default)
    {
        using var message = Turn(HttpMethod.Post, Execute(workflowId, versionNumber, "execute"), request, idempotencyKey);
        return await SendAsync<TurnAnswer>(message, cancellationToken);
    }

    /// <summary>A turn that sends files with its input (multipart): each file fills the variable it is named by, or answers an `ask` of kind `file`.</summary>
    public async Task<TurnAnswer> ExecuteWithFilesAsync(string workflowId, ExecuteRequest request, IReadOnlyList<FileToSend> files, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        var form = new MultipartFormDataContent
        {
            { JsonContent.Create(request.RunInput ?? new RunInput(), options: SessionsJson.Options), "run_input" },
        };
        if (request.RunId is { } runId)
        {
            form.Add(new StringContent(runId), "run_id");
        }

        if (request.ExpectedTurn is { } expected)
        {
            form.Add(new StringContent(expected.ToString(CultureInfo.InvariantCulture)), "expected_turn");
        }

        foreach (var file in files)
        {
            var part = new ByteArrayContent(file.Content);
            part.Headers.ContentType = new MediaTypeHeaderValue(file.ContentType);
            form.Add(part, file.Variable, file.FileName);
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, Execute(workflowId, null, "execute")) { Content = form };
        Key(message, idempotencyKey);
        return await SendAsync<TurnAnswer>(message, cancellationToken);
    }

    /// <summary>Accepts a turn to run in the background (`Prefer: respond-async`): the `202`, with the turn number to join.</summary>
    public async Task<BackgroundTurn> ExecuteInBackgroundAsync(string workflowId, ExecuteRequest request, string? idempotencyKey = null, int? versionNumber = null, CancellationToken cancellationToken = default)
    {
        using var message = Turn(HttpMethod.Post, Execute(workflowId, versionNumber, "execute"), request, idempotencyKey);
        message.Headers.Add("Prefer", "respond-async");
        return await SendAsync<BackgroundTurn>(message, cancellationToken);
    }

    /// <summary>
    /// Waits for a turn to finish (a background turn, or one whose client gave up waiting) and gives its answer, exactly
    /// as a synchronous execute would have; a turn the run refused throws that problem.
    /// </summary>
    [Endpoint("GET", "/v1/runs/{run_id}/turns/{turn_number}/result")]
    public async Task<TurnAnswer> JoinTurnAsync(string runId, int turnNumber, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var (answer, _) = await TryJoinTurnAsync(runId, turnNumber, LongestJoinWait, cancellationToken);
            if (answer is not null)
            {
                return answer;
            }
        }
    }

    /// <summary>Waits up to <paramref name="wait"/> (at most 120 s) for a turn: its answer, or how far it has got.</summary>
    public async Task<(TurnAnswer? Answer, BackgroundTurn? Pending)> TryJoinTurnAsync(string runId, int turnNumber, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var seconds = (int)Math.Clamp(wait.TotalSeconds, 0, LongestJoinWait.TotalSeconds);
        using var message = new HttpRequestMessage(HttpMethod.Get, $"v1/runs/{Id(runId)}/turns/{turnNumber}/result?wait_seconds={seconds}");
        using var response = await http.SendAsync(message, cancellationToken);
        await ThrowIfProblemAsync(response, cancellationToken);
        return response.StatusCode == HttpStatusCode.Accepted
            ? (null, await ReadAsync<BackgroundTurn>(response, cancellationToken))
            : (await ReadAsync<TurnAnswer>(response, cancellationToken), null);
    }

    /// <summary>
    /// One turn, streamed: each event as it is recorded, a model's reply as it is written, and the answer last. A dropped
    /// connection is taken up again under the same idempotency key: the rest arrives, nothing twice, nothing lost.
    /// </summary>
    [Endpoint("POST", "/v1/workflows/{workflow_id}/execute/stream")]
    public async IAsyncEnumerable<TurnUpdate> ExecuteStreamingAsync(
        string workflowId, ExecuteRequest request, string? idempotencyKey = null, int? versionNumber = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Taken up again under the same key: the server replays the answered turn's events (or answers 409 while the
        // first try still runs), and those already yielded are skipped by seq.
        var key = idempotencyKey ?? Guid.NewGuid().ToString("n");
        var lastSeq = 0L;
        HttpRequestMessage Open()
        {
            var message = Turn(HttpMethod.Post, Execute(workflowId, versionNumber, "execute/stream"), request, key);
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            return message;
        }

        await foreach (var sse in ReconnectingAsync(Open, cancellationToken))
        {
            switch (sse.Name)
            {
                case "message" when JsonSerializer.Deserialize<RunEvent>(sse.Data, SessionsJson.Options) is { } e && e.Seq > lastSeq:
                    lastSeq = e.Seq;
                    yield return new EventUpdate(e);
                    break;
                case "llm_delta" when JsonNode.Parse(sse.Data) is JsonObject delta:
                    yield return new TextDelta(delta["node_id"]?.GetValue<string>() ?? string.Empty, delta["text"]?.GetValue<string>() ?? string.Empty);
                    break;
                case "result":
                    var answer = JsonSerializer.Deserialize<TurnAnswer>(sse.Data, SessionsJson.Options)!;
                    foreach (var missed in answer.Events.Where(e => e.Seq > lastSeq))
                    {
                        lastSeq = missed.Seq;
                        yield return new EventUpdate(missed);
                    }

                    yield return new TurnFinished(answer);
                    yield break;
                case "error":
                    var problem = JsonNode.Parse(sse.Data) as JsonObject;
                    throw new SessionsProblemException(
                        (HttpStatusCode)(problem?["status"]?.GetValue<int>() ?? 500), problem?["code"]?.GetValue<string>(), problem?["title"]?.GetValue<string>(), problem?["detail"]?.GetValue<string>(), problem);
            }
        }
    }

    // ---------------------------------------------------------------- Workflows

    /// <summary>Uploads a workflow definition (JSON): the new workflow, at version 0, with the definition's warnings.</summary>
    [Endpoint("POST", "/v1/workflows")]
    public Task<WorkflowCreated> CreateWorkflowAsync(JsonNode definition, CancellationToken cancellationToken = default) =>
        PostAsync<WorkflowCreated>("v1/workflows", definition, cancellationToken);

    /// <summary>Checks a definition as an upload would, storing nothing: every error and warning with its JSON path.</summary>
    [Endpoint("POST", "/v1/workflows/validate")]
    public Task<DefinitionCheck> ValidateDefinitionAsync(JsonNode definition, CancellationToken cancellationToken = default) =>
        PostAsync<DefinitionCheck>("v1/workflows/validate", definition, cancellationToken);

    /// <summary>The JSON Schema (draft 2020-12) of a workflow definition, as the server serves it to editors.</summary>
    [Endpoint("GET", "/v1/schemas/workflow-definition.json")]
    public async Task<string> GetDefinitionSchemaAsync(CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync("v1/schemas/workflow-definition.json", cancellationToken);
        await ThrowIfProblemAsync(response, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>The tenant's workflows, a page at a time as they are read; <paramref name="nameContains"/> filters by name.</summary>
    [Endpoint("GET", "/v1/workflows")]
    public IAsyncEnumerable<WorkflowSummary> ListWorkflowsAsync(string? nameContains = null, CancellationToken cancellationToken = default) =>
        PagesAsync<WorkflowPage, WorkflowSummary>("v1/workflows", Query(("q", nameContains)), p => p.Items, p => p.Page * p.Limit < p.Total, cancellationToken);

    [Endpoint("GET", "/v1/workflows/{workflow_id}")]
    public Task<Workflow> GetWorkflowAsync(string workflowId, CancellationToken cancellationToken = default) =>
        GetAsync<Workflow>($"v1/workflows/{Id(workflowId)}", cancellationToken);

    /// <summary>Deletes a workflow: it takes no new runs; its runs stay readable.</summary>
    [Endpoint("DELETE", "/v1/workflows/{workflow_id}")]
    public Task DeleteWorkflowAsync(string workflowId, CancellationToken cancellationToken = default) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"v1/workflows/{Id(workflowId)}"), cancellationToken);

    /// <summary>Adds a version of the workflow, active at once unless <paramref name="activate"/> is false.</summary>
    [Endpoint("POST", "/v1/workflows/{workflow_id}/versions")]
    public Task<VersionCreated> AddVersionAsync(string workflowId, JsonNode definition, bool activate = true, CancellationToken cancellationToken = default) =>
        PostAsync<VersionCreated>($"v1/workflows/{Id(workflowId)}/versions{(activate ? string.Empty : "?activate=false")}", definition, cancellationToken);

    [Endpoint("GET", "/v1/workflows/{workflow_id}/versions/{version_number}")]
    public Task<WorkflowVersion> GetVersionAsync(string workflowId, int versionNumber, CancellationToken cancellationToken = default) =>
        GetAsync<WorkflowVersion>($"v1/workflows/{Id(workflowId)}/versions/{versionNumber}", cancellationToken);

    /// <summary>Makes a version the one new runs take.</summary>
    [Endpoint("POST", "/v1/workflows/{workflow_id}/versions/{version_number}/activate")]
    public Task<Workflow> ActivateVersionAsync(string workflowId, int versionNumber, CancellationToken cancellationToken = default) =>
        ActivateVersionAsync(workflowId, versionNumber, force: false, cancellationToken);

    /// <summary>Makes a version the one new runs take; an admin's <paramref name="force"/> activates it past an evaluation gate (kept on the workflow).</summary>
    [Endpoint("POST", "/v1/workflows/{workflow_id}/versions/{version_number}/activate")]
    public Task<Workflow> ActivateVersionAsync(string workflowId, int versionNumber, bool force, CancellationToken cancellationToken = default) =>
        PostAsync<Workflow>($"v1/workflows/{Id(workflowId)}/versions/{versionNumber}/activate{(force ? "?force=true" : string.Empty)}", null, cancellationToken);

    /// <summary>A version's graph as Mermaid text (`format: mermaid`) or an SVG image (`svg`).</summary>
    [Endpoint("GET", "/v1/workflows/{workflow_id}/versions/{version_number}/diagram")]
    public async Task<string> GetDiagramAsync(string workflowId, int versionNumber, string format = "mermaid", CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync($"v1/workflows/{Id(workflowId)}/versions/{versionNumber}/diagram?format={Uri.EscapeDataString(format)}", cancellationToken);
        await ThrowIfProblemAsync(response, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    // ---------------------------------------------------------------- Runs

    /// <summary>Runs matching <paramref name="filter"/>, newest first, a page at a time as they are read.</summary>
    [Endpoint("GET", "/v1/runs")]
    public IAsyncEnumerable<RunSummary> ListRunsAsync(RunFilter? filter = null, CancellationToken cancellationToken = default) =>
        PagesAsync<RunPage, RunSummary>("v1/runs", (filter ?? new RunFilter()).ToQuery(), p => p.Items, p => p.Page * p.Limit < p.Total, cancellationToken);

    /// <summary>One workflow's runs matching <paramref name="filter"/>, newest first.</summary>
    [Endpoint("GET", "/v1/workflows/{workflow_id}/runs")]
    public IAsyncEnumerable<RunSummary> ListWorkflowRunsAsync(string workflowId, RunFilter? filter = null, CancellationToken cancellationToken = default) =>
        PagesAsync<RunPage, RunSummary>($"v1/workflows/{Id(workflowId)}/runs", (filter ?? new RunFilter()).ToQuery(), p => p.Items, p => p.Page * p.Limit < p.Total, cancellationToken);

    /// <summary>How many runs matching <paramref name="filter"/> are in each status.</summary>
    [Endpoint("GET", "/v1/runs/stats")]
    public Task<RunStats> GetRunStatsAsync(RunFilter? filter = null, CancellationToken cancellationToken = default) =>
        GetAsync<RunStats>("v1/runs/stats" + (filter ?? new RunFilter()).ToQuery(), cancellationToken);

    [Endpoint("GET", "/v1/workflows/{workflow_id}/runs/stats")]
    public Task<RunStats> GetWorkflowRunStatsAsync(string workflowId, RunFilter? filter = null, CancellationToken cancellationToken = default) =>
        GetAsync<RunStats>($"v1/workflows/{Id(workflowId)}/runs/stats" + (filter ?? new RunFilter()).ToQuery(), cancellationToken);

    [Endpoint("GET", "/v1/runs/{run_id}")]
    public Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        GetAsync<Run>($"v1/runs/{Id(runId)}", cancellationToken);

    /// <summary>Every turn of a run, in order (input as sent, outcome, events), a page at a time as they are read.</summary>
    [Endpoint("GET", "/v1/runs/{run_id}/turns")]
    public async IAsyncEnumerable<Turn> GetTurnsAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? next = $"v1/runs/{Id(runId)}/turns?after_turn=-1&limit=50";
        while (next is not null)
        {
            var page = await GetAsync<TurnPage>(next.TrimStart('/'), cancellationToken);
            foreach (var turn in page.Turns)
            {
                yield return turn;
            }

            next = page.HasMore ? page.Next : null;
        }
    }

    /// <summary>One turn with the run's state after it and what it changed.</summary>
    [Endpoint("GET", "/v1/runs/{run_id}/turns/{turn_number}")]
    public Task<TurnDetails> GetTurnAsync(string runId, int turnNumber, CancellationToken cancellationToken = default) =>
        GetAsync<TurnDetails>($"v1/runs/{Id(runId)}/turns/{turnNumber}", cancellationToken);

    /// <summary>A run's events after <paramref name="afterSeq"/>, in order, as they are read.</summary>
    [Endpoint("GET", "/v1/runs/{run_id}/events")]
    public async IAsyncEnumerable<RunEvent> GetEventsAsync(string runId, long afterSeq = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var page = await GetAsync<EventPage>($"v1/runs/{Id(runId)}/events?after_seq={afterSeq}&limit=1000", cancellationToken);
            foreach (var e in page.Events)
            {
                yield return e;
            }

            if (!page.HasMore)
            {
                yield break;
            }

            afterSeq = page.NextAfterSeq;
        }
    }

    /// <summary>
    /// Follows a run: its committed events after <paramref name="afterSeq"/>, then new turns' events as they commit, until
    /// the run has finished. A dropped connection is taken up again from the last event seen (`Last-Event-ID`).
    /// </summary>
    [Endpoint("GET", "/v1/runs/{run_id}/events/stream")]
    public async IAsyncEnumerable<RunEvent> FollowEventsAsync(string runId, long afterSeq = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var lastSeq = afterSeq;
        HttpRequestMessage Open()
        {
            var message = new HttpRequestMessage(HttpMethod.Get, $"v1/runs/{Id(runId)}/events/stream");
            message.Headers.Add("Last-Event-ID", lastSeq.ToString(CultureInfo.InvariantCulture));
            return message;
        }

        await foreach (var sse in ReconnectingAsync(Open, cancellationToken))
        {
            if (sse.Name == "end")
            {
                yield break;
            }

            if (sse.Name == "message" && JsonSerializer.Deserialize<RunEvent>(sse.Data, SessionsJson.Options) is { } e && e.Seq > lastSeq)
            {
                lastSeq = e.Seq;
                yield return e;
            }
        }
    }

    /// <summary>The whole conversation as a person reads it, turn by turn.</summary>
    [Endpoint("GET", "/v1/runs/{run_id}/transcript")]
    public Task<Transcript> GetTranscriptAsync(string runId, CancellationToken cancellationToken = default) =>
        GetAsync<Transcript>($"v1/runs/{Id(runId)}/transcript?format=json", cancellationToken);

    /// <summary>The transcript as Markdown.</summary>
    public async Task<string> GetTranscriptMarkdownAsync(string runId, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync($"v1/runs/{Id(runId)}/transcript?format=markdown", cancellationToken);
        await ThrowIfProblemAsync(response, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    [Endpoint("GET", "/v1/runs/{run_id}/webhook-deliveries")]
    public Task<WebhookDeliveries> GetWebhookDeliveriesAsync(string runId, CancellationToken cancellationToken = default) =>
        GetAsync<WebhookDeliveries>($"v1/runs/{Id(runId)}/webhook-deliveries", cancellationToken);

    /// <summary>Makes a delivery again, from now, whatever came of it.</summary>
    [Endpoint("POST", "/v1/runs/{run_id}/webhook-deliveries/{delivery_id}/redeliver")]
    public Task<WebhookDelivery> RedeliverAsync(string runId, string deliveryId, CancellationToken cancellationToken = default) =>
        PostAsync<WebhookDelivery>($"v1/runs/{Id(runId)}/webhook-deliveries/{Id(deliveryId)}/redeliver", null, cancellationToken);

    /// <summary>A file a turn of the run sent, as a stream (dispose it).</summary>
    [Endpoint("GET", "/v1/runs/{run_id}/files/{file_id}")]
    public async Task<Stream> DownloadFileAsync(string runId, string fileId, CancellationToken cancellationToken = default)
    {
        var response = await http.GetAsync($"v1/runs/{Id(runId)}/files/{Id(fileId)}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await ThrowIfProblemAsync(response, cancellationToken);
        return await response.Content.ReadAsStreamAsync(cancellationToken);
    }

    /// <summary>Deletes a run: hidden from everyone but admins, and erased by the next purge.</summary>
    [Endpoint("DELETE", "/v1/runs/{run_id}")]
    public Task DeleteRunAsync(string runId, CancellationToken cancellationToken = default) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"v1/runs/{Id(runId)}"), cancellationToken);

    /// <summary>Erases the tenant's deleted and expired runs now (admins).</summary>
    [Endpoint("POST", "/v1/runs/purge")]
    public Task<PurgeResponse> PurgeRunsAsync(CancellationToken cancellationToken = default) =>
        PostAsync<PurgeResponse>("v1/runs/purge", null, cancellationToken);

    /// <summary>Cancels runs by id, or every unfinished run of a workflow.</summary>
    [Endpoint("POST", "/v1/runs/cancel")]
    public Task<CancelRunsResponse> CancelRunsAsync(CancelRunsRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<CancelRunsResponse>("v1/runs/cancel", JsonSerializer.SerializeToNode(request, SessionsJson.Options), cancellationToken);

    /// <summary>A new run from the state after a turn of this one (on another version, if given).</summary>
    [Endpoint("POST", "/v1/runs/{run_id}/fork")]
    public Task<ForkedRun> ForkAsync(string runId, int turnNumber, int? versionNumber = null, CancellationToken cancellationToken = default) =>
        ForkAsync(runId, new ForkRequest(turnNumber, versionNumber), cancellationToken);

    /// <summary>A new run from the state after a turn of this one, saying how a model's question is asked again.</summary>
    [Endpoint("POST", "/v1/runs/{run_id}/fork")]
    public Task<ForkedRun> ForkAsync(string runId, ForkRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<ForkedRun>($"v1/runs/{Id(runId)}/fork", JsonSerializer.SerializeToNode(request, SessionsJson.Options), cancellationToken);

    /// <summary>Sends every recorded input of the run to a new run on a version, and says turn by turn where it differs.</summary>
    [Endpoint("POST", "/v1/runs/{run_id}/replay")]
    public Task<ReplayReport> ReplayAsync(string runId, int? versionNumber = null, CancellationToken cancellationToken = default) =>
        ReplayAsync(runId, new ReplayRequest(versionNumber), cancellationToken);

    /// <summary>A replay saying how its calls are answered (`calls`: `recorded` or `live`; `on_changed`: `stop` or `live`).</summary>
    [Endpoint("POST", "/v1/runs/{run_id}/replay")]
    public Task<ReplayReport> ReplayAsync(string runId, ReplayRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<ReplayReport>($"v1/runs/{Id(runId)}/replay", JsonSerializer.SerializeToNode(request, SessionsJson.Options), cancellationToken);

    // ---------------------------------------------------------------- Evaluations

    /// <summary>Replays a selection of the workflow's runs on a version with recorded calls, in the background; answers at once.</summary>
    [Endpoint("POST", "/v1/workflows/{workflow_id}/versions/{version_number}/evaluations")]
    public Task<Evaluation> CreateEvaluationAsync(string workflowId, int versionNumber, EvaluationRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<Evaluation>($"v1/workflows/{Id(workflowId)}/versions/{versionNumber}/evaluations", JsonSerializer.SerializeToNode(request, SessionsJson.Options), cancellationToken);

    /// <summary>An evaluation's progress, its summary once finished, and the results after <paramref name="after"/> (a page of <paramref name="limit"/>).</summary>
    [Endpoint("GET", "/v1/workflows/{workflow_id}/versions/{version_number}/evaluations/{evaluation_id}")]
    public Task<Evaluation> GetEvaluationAsync(string workflowId, int versionNumber, string evaluationId, int? after = null, int? limit = null, CancellationToken cancellationToken = default) =>
        GetAsync<Evaluation>(
            $"v1/workflows/{Id(workflowId)}/versions/{versionNumber}/evaluations/{Id(evaluationId)}"
                + Query(("after", after?.ToString(CultureInfo.InvariantCulture)), ("limit", limit?.ToString(CultureInfo.InvariantCulture))),
            cancellationToken);

    /// <summary>The workflow's evaluations, newest first.</summary>
    [Endpoint("GET", "/v1/workflows/{workflow_id}/evaluations")]
    public Task<EvaluationList> ListEvaluationsAsync(string workflowId, CancellationToken cancellationToken = default) =>
        GetAsync<EvaluationList>($"v1/workflows/{Id(workflowId)}/evaluations", cancellationToken);

    // ---------------------------------------------------------------- Batches

    /// <summary>Starts one run per item (each item's fields are its first turn's variables), at most <paramref name="maxConcurrency"/> at a time.</summary>
    [Endpoint("POST", "/v1/workflows/{workflow_id}/batches")]
    public Task<Batch> CreateBatchAsync(string workflowId, JsonArray items, int? maxConcurrency = null, int? versionNumber = null, CancellationToken cancellationToken = default) =>
        PostAsync<Batch>($"v1/workflows/{Id(workflowId)}/batches" + Query(("max_concurrency", maxConcurrency?.ToString(CultureInfo.InvariantCulture)), ("version_number", versionNumber?.ToString(CultureInfo.InvariantCulture))), items, cancellationToken);

    [Endpoint("GET", "/v1/batches/{batch_id}")]
    public Task<Batch> GetBatchAsync(string batchId, CancellationToken cancellationToken = default) =>
        GetAsync<Batch>($"v1/batches/{Id(batchId)}", cancellationToken);

    /// <summary>A batch's items with their runs' outcomes, read as JSON Lines, in order.</summary>
    [Endpoint("GET", "/v1/batches/{batch_id}/results")]
    public async IAsyncEnumerable<BatchItem> GetBatchResultsAsync(string batchId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync($"v1/batches/{Id(batchId)}/results", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await ThrowIfProblemAsync(response, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                yield return JsonSerializer.Deserialize<BatchItem>(line, SessionsJson.Options)!;
            }
        }
    }

    /// <summary>Starts no more items, and cancels the runs of items that wait.</summary>
    [Endpoint("POST", "/v1/batches/{batch_id}/cancel")]
    public Task<Batch> CancelBatchAsync(string batchId, CancellationToken cancellationToken = default) =>
        PostAsync<Batch>($"v1/batches/{Id(batchId)}/cancel", null, cancellationToken);

    public void Dispose()
    {
        if (owner is not null)
        {
            http.Dispose();
            owner.Dispose();
        }
    }

    // ---------------------------------------------------------------- Plumbing

    /// <summary>
    /// The messages of a `text/event-stream`, opened again by <paramref name="open"/> whenever the connection drops or
    /// the stream ends before the caller is done (the caller stops by leaving its loop), and while the server says the
    /// request is still in flight. Gives up after <see cref="MaxReconnects"/> tries in a row that brought nothing.
    /// </summary>
    private async IAsyncEnumerable<ServerSentEvent> ReconnectingAsync(Func<HttpRequestMessage> open, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var failures = 0; ; )
        {
            HttpResponseMessage? response = null;
            IAsyncEnumerator<ServerSentEvent>? messages = null;
            try
            {
                using (var message = open())
                {
                    response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                }

                if (await InFlightAsync(response, cancellationToken))
                {
                    // The first try still runs on the server: its answer will be there once it ends.
                    response.Dispose();
                    continue;
                }

                await ThrowIfProblemAsync(response, cancellationToken);
                messages = ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken).GetAsyncEnumerator(cancellationToken);
            }
            catch (Exception drop) when (IsDrop(drop, cancellationToken) && failures < MaxReconnects)
            {
                response?.Dispose();
                await Task.Delay(Backoff(failures++), cancellationToken);
                continue;
            }

            try
            {
                while (true)
                {
                    try
                    {
                        if (!await messages.MoveNextAsync())
                        {
                            break;
                        }
                    }
                    catch (Exception drop) when (IsDrop(drop, cancellationToken))
                    {
                        break;
                    }

                    failures = 0;
                    yield return messages.Current;
                }
            }
            finally
            {
                await messages.DisposeAsync();
                response.Dispose();
            }

            if (failures >= MaxReconnects)
            {
                throw new HttpRequestException($"The stream dropped {failures + 1} times in a row without an event.");
            }

            await Task.Delay(Backoff(failures++), cancellationToken);
        }
    }

    private static string Execute(string workflowId, int? versionNumber, string endpoint) =>
        $"v1/workflows/{Id(workflowId)}/{endpoint}{(versionNumber is { } v ? $"?version_number={v}" : string.Empty)}";

    private static HttpRequestMessage Turn(HttpMethod method, string path, ExecuteRequest request, string? idempotencyKey)
    {
        // Bytes, not a stream: a retry sends the same body again.
        var message = new HttpRequestMessage(method, path) { Content = Json(JsonSerializer.SerializeToNode(request, SessionsJson.Options)) };
        Key(message, idempotencyKey);
        return message;
    }

    private static void Key(HttpRequestMessage message, string? idempotencyKey)
    {
        if (idempotencyKey is not null)
        {
            message.Headers.Add(IdempotencyKeyHeader, idempotencyKey);
        }
    }

    private static ByteArrayContent Json(JsonNode? body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body?.ToJsonString() ?? "{}"));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private static string Id(string id) => Uri.EscapeDataString(id);

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return given.Count == 0 ? string.Empty : "?" + string.Join('&', given);
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(5_000, 200 * Math.Pow(2, attempt)));

    /// <summary>A connection that dropped (reset, closed mid-body, timed out), not the caller cancelling.</summary>
    private static bool IsDrop(Exception failure, CancellationToken cancellationToken) =>
        failure is HttpRequestException or IOException || failure is OperationCanceledException && !cancellationToken.IsCancellationRequested;

    /// <summary>A `409 idempotency_key_in_flight`: waits as long as the server asked (Retry-After) and says so.</summary>
    private static async Task<bool> InFlightAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.Conflict || response.Headers.RetryAfter is not { } retryAfter)
        {
            return false;
        }

        var problem = await SessionsProblemException.ReadAsync(response, cancellationToken);
        if (problem.Code != ProblemCodes.IdempotencyKeyInFlight)
        {
            throw problem;
        }

        await Task.Delay(retryAfter.Delta ?? TimeSpan.FromSeconds(1), cancellationToken);
        return true;
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync<T>(message, cancellationToken);
    }

    private async Task<T> PostAsync<T>(string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : Json(body) };
        return await SendAsync<T>(message, cancellationToken);
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(message, cancellationToken);
        await ThrowIfProblemAsync(response, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    private async Task SendAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        using (message)
        using (var response = await http.SendAsync(message, cancellationToken))
        {
            await ThrowIfProblemAsync(response, cancellationToken);
        }
    }

    private async IAsyncEnumerable<TItem> PagesAsync<TPage, TItem>(
        string path, string query, Func<TPage, IReadOnlyList<TItem>> items, Func<TPage, bool> more, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var separator = query.Length == 0 ? "?" : "&";
        for (var page = 1; ; page++)
        {
            var read = await GetAsync<TPage>($"{path}{query}{separator}page={page}&limit=100", cancellationToken);
            foreach (var item in items(read))
            {
                yield return item;
            }

            if (!more(read) || items(read).Count == 0)
            {
                yield break;
            }
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) =>
        (await response.Content.ReadFromJsonAsync<T>(SessionsJson.Options, cancellationToken))
        ?? throw new JsonException($"The server answered {(int)response.StatusCode} with no {typeof(T).Name}.");

    private static async Task ThrowIfProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw await SessionsProblemException.ReadAsync(response, cancellationToken);
        }
    }
}

/// <summary>A file to send with a turn: the variable it fills (or the `file` ask it answers), its name, type and bytes.</summary>
public sealed record FileToSend(string Variable, string FileName, string ContentType, byte[] Content);

/// <summary>What a streamed turn tells as it runs.</summary>
public abstract record TurnUpdate;

/// <summary>An event of the turn, as it was recorded.</summary>
public sealed record EventUpdate(RunEvent Event) : TurnUpdate;

/// <summary>Part of a model's reply as it is written (the `llm` event that follows has all of it).</summary>
public sealed record TextDelta(string NodeId, string Text) : TurnUpdate;

/// <summary>The turn's answer: the last update.</summary>
public sealed record TurnFinished(TurnAnswer Answer) : TurnUpdate;
