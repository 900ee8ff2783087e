using System.Text.Json.Nodes;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Validation;

namespace Sessions.Runtime.Tests;

public sealed class JsonBinderTests
{
    private sealed record Outer(int Count, string? Name = null, Inner? Inner = null, IReadOnlyList<string>? Tags = null);

    private sealed record Inner(string Label, JsonObject? Data = null, int? Size = null);

    [Fact]
    public void A_right_body_binds_with_unknown_fields_ignored()
    {
        var errors = new List<FieldError>();
        var bound = JsonBinder.Bind<Outer>(JsonNode.Parse("""{"count":2,"name":"n","inner":{"label":"l","data":{"a":[1]}},"extra":{"x":1}}"""), "$", errors);
        Assert.Empty(errors);
        Assert.Equal((2, "n", "l"), (bound!.Count, bound.Name, bound.Inner!.Label));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"a":[1]}"""), bound.Inner.Data));
    }

    [Fact]
    public void Every_wrong_field_is_named_once_with_its_path_and_the_rest_still_binds()
    {
        var errors = new List<FieldError>();
        var bound = JsonBinder.Bind<Outer>(
            JsonNode.Parse("""{"count":3,"name":7,"inner":{"label":"l","data":[1],"size":"big"},"tags":["a",2]}"""), "$", errors);
        Assert.Equal(
            [("$.name", "name is a string."), ("$.inner.data", "data is an object."), ("$.inner.size", "size is a whole number."), ("$.tags", "tags is an array of strings.")],
            errors.Select(e => (e.Path, e.Message)));
        Assert.Equal((3, "l"), (bound!.Count, bound.Inner!.Label));
    }

    [Fact]
    public void Names_match_exactly_and_numbers_are_not_read_from_strings()
    {
        var errors = new List<FieldError>();
        JsonBinder.Bind<Outer>(JsonNode.Parse("""{"Count":1}"""), "$", errors);
        Assert.Equal([("$.count", "count is required.")], errors.Select(e => (e.Path, e.Message)));

        errors.Clear();
        JsonBinder.Bind<Outer>(JsonNode.Parse("""{"count":"1"}"""), "$", errors);
        Assert.Equal(["$.count"], errors.Select(e => e.Path));

        errors.Clear();
        JsonBinder.Bind<Outer>(JsonNode.Parse("""{"count":1.5}"""), "$", errors);
        Assert.Equal(["$.count"], errors.Select(e => e.Path));
    }

    [Fact]
    public void Null_is_refused_where_the_record_does_not_allow_it()
    {
        var errors = new List<FieldError>();
        var bound = JsonBinder.Bind<Outer>(JsonNode.Parse("""{"count":null,"name":null,"inner":{"label":null}}"""), "$", errors);
        Assert.Equal(["$.count", "$.inner.label"], errors.Select(e => e.Path));
        Assert.Null(bound);
    }

    [Fact]
    public void A_body_that_is_not_an_object_is_named_at_the_root()
    {
        var errors = new List<FieldError>();
        Assert.Null(JsonBinder.Bind<Outer>(JsonNode.Parse("[1]"), "$", errors));
        Assert.Equal([("$", "The body is an object.")], errors.Select(e => (e.Path, e.Message)));
    }

    [Fact]
    public void A_recorded_run_input_reads_as_a_live_one_and_keeps_what_was_sent()
    {
        var recorded = JsonNode.Parse("""{"command":"data","dynamic_variables":{"user_message":"hi","x":1},"custom":true}""")!.AsObject();
        var turn = RunInputReader.Read(recorded, "t", "w", null);
        Assert.Equal((TurnCommand.Data, "hi"), (turn.Command, turn.UserMessage));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"x":1}"""), turn.DynamicVariables));
        Assert.True(JsonNode.DeepEquals(recorded, turn.RecordedInput));
        Assert.True(recorded["dynamic_variables"]!.AsObject().ContainsKey("user_message"), "the request's own input is left as sent");
    }
}
