using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Runtime.Runs;
using Sessions.Runtime.Runs.Events;

namespace Sessions.Runtime.Tests;

/// <summary>
/// The typed events: one record per type, written field for field as the protocol has them. The wire bytes of every
/// type a client can make a run record are pinned by the API's golden conversations; these hold the catalogue itself.
/// </summary>
public class EventCatalogueTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 9, 30, 15, TimeSpan.Zero);

    [Fact]
    public void Every_event_type_has_one_record_registered_under_its_wire_name()
    {
        var records = Enum.GetValues<RunEventType>().Select(EventCatalogue.RecordOf).ToList();
        Assert.Equal(records.Count, records.Distinct().Count());
        Assert.All(Enum.GetValues<RunEventType>(), type => Assert.Equal(type, EventCatalogue.TypeOf(EventCatalogue.RecordOf(type))));
        Assert.Equal(
            typeof(RunEventPayload).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(RunEventPayload)) && !t.IsAbstract).OrderBy(t => t.Name),
            records.OrderBy(t => t.Name));
    }

    [Fact]
    public void Only_what_people_say_is_a_line_of_the_conversation_and_only_model_calls_count_as_usage()
    {
        var records = Enum.GetValues<RunEventType>().Select(EventCatalogue.RecordOf).ToList();
        Assert.Equal([typeof(UserMessage), typeof(Said)], records.Where(t => t.IsAssignableTo(typeof(IConversationLine))));
        Assert.Equal([typeof(ModelCalled), typeof(ModelAsked)], records.Where(t => t.IsAssignableTo(typeof(IModelCall))));
        Assert.Equal(("user", "assistant"), (((IConversationLine)new UserMessage("hi")).Role, ((IConversationLine)new Said("hello")).Role));
    }

    [Fact]
    public void A_pattern_out_of_time_is_written_as_the_protocol_has_it()
    {
        var warned = new Conditions.ConditionTimeout("text", "(a|b)*c", TimeSpan.FromMilliseconds(250)).ToEvent();
        Assert.Equal("""{"var":"text","pattern":"(a|b)*c","budget_ms":250,"result":"no_match"}""", Fields(warned));
    }

    [Fact]
    public void An_event_a_step_recorded_says_which_step_after_its_own_fields_and_a_step_attempt_says_it_first()
    {
        Assert.Equal("""{"text":"hi","step_id":"a","attempt":2}""", Fields(new Said("hi").InStep("a", 2)));
        Assert.Equal("""{"text":"hi"}""", Fields(new Said("hi")));

        var attempted = new StepAttempted { StepId = "a", Attempt = 1, Fallback = false, Status = StepAttempted.Failed, StartedAt = At, EndedAt = At.AddTicks(1234567), Error = "down" };
        Assert.Equal(
            """{"step_id":"a","attempt":1,"fallback":false,"status":"failed","started_at":"2026-12-07T09:30:15.0000000Z","ended_at":"2026-12-07T09:30:15.1234567Z","error":"down"}""",
            Fields(attempted));
        Assert.Equal(("a", 1), (((RunEventPayload)attempted).StepId, ((RunEventPayload)attempted).Attempt));
    }

    [Fact]
    public void Optional_fields_are_left_out_and_the_others_written_even_when_null()
    {
        Assert.Equal("""{"status":"completed"}""", Fields(new WorkflowEnded(RunStatus.Completed)));
        Assert.Equal("""{"error":null}""", Fields(new ErrorRaised(null)));
        Assert.Equal("""{"failed_turn":2,"error":null,"version_number":3,"from_version_number":1}""", Fields(new RunRetried(2, null, 3, 1)));
        Assert.Equal("""{"model":"m","provider":"p","input_tokens":1,"output_tokens":2,"latency_ms":12.5,"fallback_used":false,"text":"t"}""", Fields(new ModelCalled(null, "m", "p", 1, 2, 12.5, false, "t")));
        Assert.Equal("""{"mode":"say","model":"m","provider":"p","input_tokens":1,"output_tokens":2,"latency_ms":12.5,"fallback_used":false,"text":"t"}""", Fields(new ModelCalled(LlmMode.Say, "m", "p", 1, 2, 12.5, false, "t")));
    }

    [Fact]
    public void Stored_fields_read_back_into_the_record_and_fields_it_does_not_know_are_kept_in_order()
    {
        using var stored = JsonDocument.Parse("""{"deadline":"2026-12-07T09:30:15.0000000Z","from_the_future":{"x":[1,2.50]}}""");
        var fired = Assert.IsType<TimerFired>(EventCatalogue.ReadFields(RunEventType.TimerFired, stored.RootElement));
        Assert.Equal(At, fired.Deadline);
        Assert.Equal("""{"deadline":"2026-12-07T09:30:15.0000000Z","from_the_future":{"x":[1,2.50]}}""", Fields(fired));
    }

    [Fact]
    public void An_event_read_from_the_wire_is_its_record_wherever_its_type_is()
    {
        using var wire = JsonDocument.Parse("""{"seq":4,"type":"self_loop_edge","node_id":"n","turn_number":1,"timestamp":"2026-12-07T09:30:15Z","attempt":3,"reason":"failed","error":"down"}""");
        var repeated = Assert.IsType<SelfLoopRepeated>(EventCatalogue.ReadWire(wire.RootElement));
        Assert.Equal((3, "failed", "down"), (repeated.Attempt, repeated.Reason, repeated.Error));
        Assert.Null(((RunEventPayload)repeated).StepId);
    }

    private static string Fields(RunEventPayload payload) => EventCatalogue.FieldsObject(payload).ToJsonString();
}
