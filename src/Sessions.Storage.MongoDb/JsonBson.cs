using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MongoDB.Bson;

namespace Sessions.Storage.MongoDb;

/// <summary>
/// JSON values as BSON and back, exactly: what a client sent reads back with the same text. Objects, arrays, strings,
/// booleans and nulls map one to one. A number maps to the BSON type that holds its text exactly: a plain integer to
/// int32 or int64, a decimal to decimal128 (which keeps its scale, so 19.90 stays 19.90); any other number (an
/// exponent such as 1e5, more than 34 significant digits) to binary data of the user-defined subtype holding its JSON
/// text. A double would round 0.1 and 12345678901234567890.5, so no number is ever stored as one.
/// </summary>
public static class JsonBson
{
    /// <summary>The binary subtype of a JSON number kept as its text.</summary>
    public const BsonBinarySubType NumberText = BsonBinarySubType.UserDefined;

    public static BsonValue ToBson(JsonNode? node) => node switch
    {
        null => BsonNull.Value,
        JsonObject members => ToBson(members),
        JsonArray items => new BsonArray(items.Select(ToBson)),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => new BsonString(value.GetValue<string>()),
            JsonValueKind.True => BsonBoolean.True,
            JsonValueKind.False => BsonBoolean.False,
            JsonValueKind.Number => Number(value.ToJsonString()),
            _ => BsonNull.Value,
        },
        _ => throw new NotSupportedException($"Unexpected JSON node {node.GetType().Name}."),
    };

    public static BsonDocument ToBson(JsonObject members)
    {
        var document = new BsonDocument();
        foreach (var (name, value) in members)
        {
            document.Add(name, ToBson(value));
        }

        return document;
    }

    public static JsonNode? ToJson(BsonValue value) => value.BsonType switch
    {
        BsonType.Null => null,
        BsonType.Document => ToJson(value.AsBsonDocument),
        BsonType.Array => new JsonArray(value.AsBsonArray.Select(ToJson).ToArray()),
        BsonType.String => JsonValue.Create(value.AsString),
        BsonType.Boolean => JsonValue.Create(value.AsBoolean),
        BsonType.Int32 => JsonValue.Create(value.AsInt32),
        BsonType.Int64 => JsonValue.Create(value.AsInt64),
        BsonType.Decimal128 => JsonNode.Parse(value.AsDecimal128.ToString()),

        // Written by hand in a shell, not by this provider: read as the nearest JSON number.
        BsonType.Double => JsonNode.Parse(value.AsDouble.ToString("R", CultureInfo.InvariantCulture)),
        BsonType.Binary when value.AsBsonBinaryData.SubType == NumberText => JsonNode.Parse(Encoding.UTF8.GetString(value.AsBsonBinaryData.Bytes)),
        BsonType.ObjectId => JsonValue.Create(value.AsObjectId.ToString()),
        BsonType.DateTime => JsonValue.Create(value.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)),
        _ => throw new NotSupportedException($"A stored value of BSON type {value.BsonType} has no JSON form."),
    };

    public static JsonObject ToJson(BsonDocument document)
    {
        var members = new JsonObject();
        foreach (var element in document)
        {
            members.Add(element.Name, ToJson(element.Value));
        }

        return members;
    }

    private static BsonValue Number(string text)
    {
        if (IsPlainInteger(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            return whole is >= int.MinValue and <= int.MaxValue ? new BsonInt32((int)whole) : new BsonInt64(whole);
        }

        if (Decimal128.TryParse(text, out var exact) && exact.ToString() == text)
        {
            return new BsonDecimal128(exact);
        }

        return new BsonBinaryData(Encoding.UTF8.GetBytes(text), NumberText);
    }

    /// <summary>Digits with an optional minus and no leading zero: the integers whose text int64 gives back as it was (not -0).</summary>
    private static bool IsPlainInteger(string text)
    {
        var digits = text.AsSpan(text.StartsWith('-') ? 1 : 0);
        return digits.Length is > 0 and <= 19
            && !digits.ContainsAnyExceptInRange('0', '9')
            && (digits.Length == 1 ? text != "-0" : digits[0] != '0');
    }
}
