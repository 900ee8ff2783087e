using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Bson.Serialization;

namespace Sessions.Storage.MongoDb.Tests;

/// <summary>JSON through BSON and back, through the driver's own BSON bytes, keeps its exact text.</summary>
public sealed class JsonBsonTests
{
    [Theory]
    [InlineData("0", BsonType.Int32)]
    [InlineData("-2147483648", BsonType.Int32)]
    [InlineData("2147483648", BsonType.Int64)]
    [InlineData("-9223372036854775808", BsonType.Int64)]
    [InlineData("9223372036854775808", BsonType.Decimal128)]
    [InlineData("19.90", BsonType.Decimal128)]
    [InlineData("0.1", BsonType.Decimal128)]
    [InlineData("-0.000001", BsonType.Decimal128)]
    [InlineData("12345678901234567890.5", BsonType.Decimal128)]
    [InlineData("-0", BsonType.Decimal128)]
    [InlineData("1E-400", BsonType.Decimal128)]
    [InlineData("1e5", BsonType.Binary)]
    [InlineData("1E+99999", BsonType.Binary)]
    [InlineData("3.141592653589793238462643383279502884197", BsonType.Binary)]
    [InlineData("123456789012345678901234567890123456789012345", BsonType.Binary)]
    public void A_number_is_kept_in_the_type_that_holds_its_text(string number, BsonType stored)
    {
        var bson = JsonBson.ToBson(JsonNode.Parse(number));
        Assert.Equal(stored, bson.BsonType);
        Assert.Equal(number, JsonBson.ToJson(ThroughBytes(new BsonDocument("v", bson))["v"])!.ToJsonString());
    }

    [Fact]
    public void Objects_arrays_strings_and_nulls_keep_their_order_and_text()
    {
        const string json = """{"b":[1,"two",null,{"x":true,"":false}],"a":{"$dollar":"ok","dot.ted":"ok","empty":{},"none":[]},"ü":"日本語 🎉 \"quoted\" \\ \n"}""";
        var back = JsonBson.ToJson(ThroughBytes(JsonBson.ToBson(JsonNode.Parse(json)!.AsObject())));
        Assert.Equal(JsonNode.Parse(json)!.ToJsonString(), back.ToJsonString());
    }

    [Fact]
    public void Any_json_round_trips_through_bson_bytes_exactly()
    {
        var property = Prop.ForAll(JsonTrees(5).ToArbitrary(), tree =>
        {
            var text = tree.ToJsonString();
            var back = JsonBson.ToJson(ThroughBytes(JsonBson.ToBson(tree))).ToJsonString();
            return (back == text).Label($"{text} came back as {back}");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    /// <summary>What a server would store and give back: the document as BSON bytes, read again by the driver.</summary>
    internal static BsonDocument ThroughBytes(BsonDocument document) =>
        BsonSerializer.Deserialize<BsonDocument>(document.ToBson());

    /// <summary>Random objects whose leaves are every kind of JSON value, numbers of every shape and text of every script.</summary>
    internal static Gen<JsonObject> JsonTrees(int depth) => Object(depth).Select(node => node!.AsObject());

    private static Gen<JsonNode?> Object(int depth) =>
        Gen.ListOf(Gen.Zip(Names, Value(depth - 1))).Select(pairs =>
        {
            var members = new JsonObject();
            foreach (var (name, value) in pairs.Take(6))
            {
                members[name] = value;
            }

            return (JsonNode?)members;
        });

    private static Gen<JsonNode?> Value(int depth)
    {
        var leaves = Gen.OneOf(
            Gen.Constant<JsonNode?>(null),
            Gen.Elements(true, false).Select(b => (JsonNode?)JsonValue.Create(b)),
            Numbers.Select(n => JsonNode.Parse(n)),
            Texts.Select(s => (JsonNode?)JsonValue.Create(s)));
        if (depth <= 0)
        {
            return leaves;
        }

        return Gen.Frequency(
            (3, leaves),
            (1, Gen.ListOf(Value(depth - 1)).Select(items => (JsonNode?)new JsonArray(items.Take(5).ToArray()))),
            (1, Object(depth)));
    }

    private static Gen<string> Names => Gen.OneOf(Gen.Elements("a", "order_id", "$set", "a.b", "", "ключ", "🎉"), Texts.Select(t => t.Length > 12 ? t[..12] : t));

    private static Gen<string> Texts => Gen.OneOf(
        Gen.Elements("", " ", "plain", "日本語", "emoji 🎉 and é", "quote \" backslash \\ tab \t", "line\nbreak", "\u2028\u2029", "{{name}}"),
        ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => new string(s.Get.Where(c => c != '\0' && !char.IsSurrogate(c)).ToArray())));

    private static Gen<string> Numbers => Gen.OneOf(
        ArbMap.Default.GeneratorFor<long>().Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ArbMap.Default.GeneratorFor<int>().Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ArbMap.Default.GeneratorFor<decimal>().Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ArbMap.Default.GeneratorFor<NormalFloat>().Select(d => d.Get.ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Zip(Gen.Zip(Gen.Choose(1, 60), Gen.Choose(0, 40)), Gen.Elements("", "-"))
            .Select(p => p.Item2 + new string('7', p.Item1.Item1) + (p.Item1.Item2 == 0 ? "" : "." + new string('3', p.Item1.Item2 - 1) + "1")),
        Gen.Elements("0", "-0", "0.0", "1.10", "1e5", "1E+5", "-2.5e-3", "1e308", "5e-324", "99999999999999999999"));
}
