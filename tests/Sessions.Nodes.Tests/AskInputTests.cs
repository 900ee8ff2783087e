using System.Text.Json.Nodes;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Inputs;

namespace Sessions.Nodes.Tests;

public class AskInputTests
{
    private static InputSpec Spec(string json)
    {
        var problems = new ProblemCollector();
        var spec = InputSpec.Parse(JsonNode.Parse(json), "$.input", problems);
        Assert.Empty(problems.Errors);
        return spec;
    }

    [Theory]
    [InlineData("""{"kind":"text","min_length":2,"max_length":5}""", "abc", "\"abc\"")]
    [InlineData("""{"kind":"text","pattern":"^[0-9]{6}$"}""", "123456", "\"123456\"")]
    [InlineData("""{"kind":"number","min":0,"max":10}""", "2.5", "2.5")]
    [InlineData("""{"kind":"number"}""", " -3 ", "-3")]
    [InlineData("""{"kind":"integer","min":1}""", "42", "42")]
    [InlineData("""{"kind":"boolean"}""", "YES", "true")]
    [InlineData("""{"kind":"boolean"}""", "n", "false")]
    [InlineData("""{"kind":"boolean"}""", "False", "false")]
    [InlineData("""{"kind":"choice","options":[{"value":"billing","label":"Billing and invoices"}]}""", "BILLING", "\"billing\"")]
    [InlineData("""{"kind":"choice","options":[{"value":"billing","label":"Billing and invoices"}]}""", "billing and invoices", "\"billing\"")]
    [InlineData("""{"kind":"choice","options":[{"value":1,"label":"One"},{"value":2,"label":"Two"}]}""", "two", "2")]
    public void Accepted_replies_are_stored_typed(string input, string reply, string storedJson)
    {
        var check = Spec(input).Check(reply);
        Assert.True(check.Accepted, check.Expected);
        Assert.Equal(storedJson, check.Value!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"kind":"text","min_length":2}""", "a", "at least 2 characters")]
    [InlineData("""{"kind":"text","max_length":3}""", "abcd", "at most 3 characters")]
    [InlineData("""{"kind":"text","pattern":"^[0-9]{6}$"}""", "12345", "text matching ^[0-9]{6}$")]
    [InlineData("""{"kind":"number","min":0,"max":10}""", "11", "a number from 0 to 10")]
    [InlineData("""{"kind":"number"}""", "ten", "a number")]
    [InlineData("""{"kind":"integer"}""", "4.5", "a whole number")]
    [InlineData("""{"kind":"integer","min":1}""", "0", "a whole number of at least 1")]
    [InlineData("""{"kind":"boolean"}""", "maybe", "yes or no (true/false/yes/no/y/n)")]
    [InlineData("""{"kind":"choice","options":[{"value":"a","label":"A"},{"value":"b","label":"B"}]}""", "c", "one of: a, b")]
    public void Rejected_replies_say_what_was_expected(string input, string reply, string expected)
    {
        var check = Spec(input).Check(reply);
        Assert.False(check.Accepted);
        Assert.Equal(expected, check.Expected);
    }

    [Fact]
    public void No_input_means_any_text()
    {
        var spec = InputSpec.Parse(null, "$.input", new ProblemCollector());
        Assert.Equal(InputKind.Text, spec.Kind);
        Assert.True(spec.Check("").Accepted);
    }

    [Theory]
    [InlineData("""{"kind":"text","min_length":-1}""", "$.input.min_length")]
    [InlineData("""{"kind":"text","pattern":"(["}""", "$.input.pattern")]
    [InlineData("""{"kind":"number","max":"ten"}""", "$.input.max")]
    [InlineData("""{"kind":"choice","options":[]}""", "$.input.options")]
    [InlineData("""{"kind":"choice","options":[{"label":"no value"}]}""", "$.input.options[0]")]
    [InlineData("""{"kind":"choice","options":[{"value":"a"},{"value":"A"}]}""", "$.input.options")]
    public void Bad_input_specs_are_reported_at_their_path(string input, string path)
    {
        var problems = new ProblemCollector();
        InputSpec.Parse(JsonNode.Parse(input), "$.input", problems);
        Assert.Contains(problems.Errors, e => e.Path == path);
    }

    [Fact]
    public void A_pattern_that_cannot_decide_in_time_refuses_the_reply_instead_of_hanging()
    {
        var spec = Spec("""{"kind":"text","pattern":"^(a+)+$"}""");
        var check = spec.Check(new string('a', 40) + "!");
        Assert.False(check.Accepted);
    }
}
