using System.Text.Json.Nodes;
using Sessions.Runtime.Conditions;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Validation;
using Sessions.Runtime.Templates;

namespace Sessions.Runtime.Tests;

public class TemplateAndConditionTests
{
    private static readonly TemplateEngine Engine = new();

    private static Template Compile(string source) => Engine.TryCompile(source, out var error) ?? throw new InvalidOperationException(error);

    private static JsonObject Vars(string json) => JsonNode.Parse(json)!.AsObject();

    [Theory]
    [InlineData("Hi {{name}}!", """{"name":"Ada"}""", "Hi Ada!")]
    [InlineData("Hi {{name}}!", """{}""", "Hi !")]
    [InlineData("{{add attempts 1}}", """{"attempts":2}""", "3")]
    [InlineData("{{subtract 10 4}}", """{}""", "6")]
    [InlineData("{{multiply price qty}}", """{"price":2.5,"qty":4}""", "10")]
    [InlineData("{{divide 7 2}}", """{}""", "3.5")]
    [InlineData("{{default nickname name}}", """{"nickname":null,"name":"Ada"}""", "Ada")]
    [InlineData("{{default nickname \"friend\"}}", """{}""", "friend")]
    [InlineData("{{upper name}}", """{"name":"ada"}""", "ADA")]
    [InlineData("{{customer.city}}", """{"customer":{"city":"Oslo"}}""", "Oslo")]
    [InlineData("<b>{{text}}</b>", """{"text":"a & b < c"}""", "<b>a & b < c</b>")]
    [InlineData("{{#if urgent}}yes{{else}}no{{/if}}", """{"urgent":false}""", "no")]
    public void Templates_render_variables_and_helpers(string source, string variables, string expected)
    {
        Assert.Equal(expected, Compile(source).Render(Vars(variables)));
    }

    [Fact]
    public void A_sole_variable_keeps_its_json_type_and_a_sole_helper_call_yields_a_number()
    {
        var vars = Vars("""{"order":{"id":"000123","n":7},"flag":true,"attempts":1}""");
        Assert.True(JsonNode.DeepEquals(JsonValue.Create("000123"), Compile("{{order.id}}").Evaluate(vars)));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"id":"000123","n":7}"""), Compile("{{order}}").Evaluate(vars)));
        Assert.True(JsonNode.DeepEquals(JsonValue.Create(true), Compile("{{flag}}").Evaluate(vars)));
        Assert.True(JsonNode.DeepEquals(JsonValue.Create(2L), Compile("{{add attempts 1}}").Evaluate(vars)));
        Assert.True(JsonNode.DeepEquals(JsonValue.Create("n=7"), Compile("n={{order.n}}").Evaluate(vars)));
    }

    [Fact]
    public void A_template_that_does_not_parse_is_reported()
    {
        Assert.Null(Engine.TryCompile("Hi {{#if name}}", out var error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("""{"var":"n","op":"eq","value":5}""", true)]
    [InlineData("""{"var":"n","op":"eq","value":"5"}""", false)]
    [InlineData("""{"var":"n","op":"ne","value":4}""", true)]
    [InlineData("""{"var":"n","op":"gt","value":4}""", true)]
    [InlineData("""{"var":"n","op":"gte","value":5}""", true)]
    [InlineData("""{"var":"n","op":"lt","value":5}""", false)]
    [InlineData("""{"var":"n","op":"lte","value":5.0}""", true)]
    [InlineData("""{"var":"s","op":"gt","value":"apple"}""", true)]
    [InlineData("""{"var":"s","op":"gt","value":5}""", false)]
    [InlineData("""{"var":"s","op":"contains","value":"NAN"}""", true)]
    [InlineData("""{"var":"tags","op":"contains","value":"vip"}""", true)]
    [InlineData("""{"var":"s","op":"matches","value":"^b(an)+a$"}""", true)]
    [InlineData("""{"var":"n","op":"matches","value":"5"}""", false)]
    [InlineData("""{"var":"s","op":"in","value":["apple","banana"]}""", true)]
    [InlineData("""{"var":"missing","op":"exists"}""", false)]
    [InlineData("""{"var":"nothing","op":"exists"}""", false)]
    [InlineData("""{"var":"missing","op":"exists","value":false}""", true)]
    [InlineData("""{"var":"address.city","op":"exists"}""", true)]
    [InlineData("""{"var":"ok","op":"eq","value":true}""", true)]
    [InlineData("""{"all":[{"var":"n","op":"gt","value":1},{"var":"ok","op":"eq","value":true}]}""", true)]
    [InlineData("""{"any":[{"var":"n","op":"lt","value":1},{"var":"ok","op":"eq","value":false}]}""", false)]
    [InlineData("""{"not":{"var":"n","op":"lt","value":1}}""", true)]
    public void Conditions_compare_like_with_like(string condition, bool expected)
    {
        var problems = new ProblemCollector();
        var parsed = ConditionParser.Parse(JsonNode.Parse(condition), "$.c", problems);
        Assert.Empty(problems.Errors);
        var vars = Vars("""{"n":5,"s":"banana","tags":["new","vip"],"ok":true,"nothing":null,"address":{"city":"Oslo"}}""");
        Assert.Equal(expected, parsed!.Evaluate(vars));
    }

    [Theory]
    [InlineData("""{"var":"n","op":"between","value":1}""", "$.c.op")]
    [InlineData("""{"op":"eq","value":1}""", "$.c.var")]
    [InlineData("""{"var":"n","op":"eq"}""", "$.c.value")]
    [InlineData("""{"var":"n","op":"in","value":3}""", "$.c.value")]
    [InlineData("""{"var":"n","op":"matches","value":"("}""", "$.c.value")]
    [InlineData("""{"var":"n","op":"matches","value":"(a)\\1"}""", "$.c.value")]
    [InlineData("""{"var":"n","op":"matches","value":"a(?=b)"}""", "$.c.value")]
    [InlineData("""{"all":[]}""", "$.c.all")]
    [InlineData("""{"any":[{"var":"n","op":"eq","value":1},{"var":"n","op":"nope","value":1}]}""", "$.c.any[1].op")]
    [InlineData("""[1]""", "$.c")]
    public void Bad_conditions_are_reported_at_their_path(string condition, string path)
    {
        var problems = new ProblemCollector();
        Assert.Null(ConditionParser.Parse(JsonNode.Parse(condition), "$.c", problems));
        Assert.Contains(problems.Errors, e => e.Path == path);
    }

    [Fact]
    public void A_match_that_runs_out_of_time_is_no_match_and_is_reported()
    {
        // One tick is far less than any pattern needs for a million characters: the budget always runs out.
        var pattern = new System.Text.RegularExpressions.Regex("(a|b)*a(a|b){12}c", System.Text.RegularExpressions.RegexOptions.NonBacktracking, TimeSpan.FromTicks(1));
        var matches = new Comparison("text", ComparisonOperator.Matches, JsonValue.Create("(a|b)*a(a|b){12}c"), pattern);
        var variables = new JsonObject { ["text"] = string.Concat(Enumerable.Repeat("ab", 500_000)) + "c" };
        var timeouts = new List<ConditionTimeout>();

        Assert.False(matches.Evaluate(variables, timeouts));
        Assert.True(new NotCondition(matches).Evaluate(variables, timeouts));

        Assert.Equal(2, timeouts.Count);
        var warned = timeouts[0].ToEvent();
        Assert.Equal(("text", "(a|b)*a(a|b){12}c", "no_match"), (warned.Variable, warned.Pattern, warned.Result));
    }
}
