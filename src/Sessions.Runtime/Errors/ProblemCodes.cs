namespace Sessions.Runtime.Errors;

/// <summary>Every problem code the server answers with. They are public API: never rename one.</summary>
public static class ProblemCodes
{
    public const string MalformedId = "malformed_id";
    public const string MalformedJson = "malformed_json";
    public const string InvalidRequest = "invalid_request";
    public const string UnknownCommand = "unknown_command";
    public const string InvalidVersionNumber = "invalid_version_number";
    public const string InvalidPaging = "invalid_paging";
    public const string RunIdRequired = "run_id_required";
    public const string WorkflowNotFound = "workflow_not_found";
    public const string WorkflowExists = "workflow_exists";
    public const string VersionNotFound = "version_not_found";
    public const string RunNotFound = "run_not_found";
    public const string RunTerminal = "run_terminal";
    public const string RunNotResumable = "run_not_resumable";
    public const string RunNotRetryable = "run_not_retryable";
    public const string TransitionNotPermitted = "transition_not_permitted";
    public const string TurnConflict = "turn_conflict";
    public const string TurnCancelled = "turn_cancelled";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string InvalidReply = "invalid_reply";
    public const string ReplyRequired = "reply_required";
    public const string InvalidDefinition = "invalid_definition";
    public const string TurnMismatch = "turn_mismatch";
    public const string IdempotencyKeyReused = "idempotency_key_reused";
    public const string IdempotencyKeyInFlight = "idempotency_key_in_flight";
    public const string InvalidIdempotencyKey = "invalid_idempotency_key";
    public const string UserMessageTooLong = "user_message_too_long";
    public const string VariablesTooLarge = "variables_too_large";
    public const string AnswerNotWritable = "answer_not_writable";
    public const string CommitOutcomeUnknown = "commit_outcome_unknown";
    public const string TurnNotFound = "turn_not_found";
    public const string DeliveryNotFound = "delivery_not_found";
    public const string FileNotFound = "file_not_found";
    public const string BatchNotFound = "batch_not_found";
    public const string InvalidBatch = "invalid_batch";
    public const string FileTooLarge = "file_too_large";
    public const string InvalidFile = "invalid_file";
    public const string CheckpointUnavailable = "checkpoint_unavailable";
    public const string CheckpointTerminal = "checkpoint_terminal";
    public const string CheckpointIncompatible = "checkpoint_incompatible";
    public const string ReplayUnsupported = "replay_unsupported";
    public const string RecordedCallChanged = "recorded_call_changed";
    public const string EvaluationNotFound = "evaluation_not_found";
    public const string EvaluationRequired = "evaluation_required";
    public const string RouteNotFound = "route_not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string InternalError = "internal_error";
    public const string HttpError = "http_error";

    /// <summary>A LangGraph thread id that names no thread (no run, and no thread made before its first run).</summary>
    public const string ThreadNotFound = "thread_not_found";

    /// <summary>A request of another protocol that Sessions does not carry out, with why (a rollback, a state update).</summary>
    public const string NotSupported = "not_supported";

    /// <summary>Every code above, for the OpenAPI document and the test that holds the error table of docs/protocol.md to it.</summary>
    public static IReadOnlyList<string> All { get; } = typeof(ProblemCodes)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToList();
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string RateLimited = "rate_limited";

    /// <summary>A 404 that names what was looked for (<paramref name="named"/>: its id, or a version and its workflow).</summary>
    public static DomainException NotFound(string code, string what, string? named) =>
        new(ErrorKind.NotFound, code, $"{what} not found", $"No {what.ToLowerInvariant()} {ProblemText.Shorten(named ?? "")} exists for this tenant.");
}
