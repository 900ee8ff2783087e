using Sessions.Runtime.Ids;

namespace Sessions.Runtime.Tests;

public class ObjectIdTests
{
    [Fact]
    public void New_ids_are_24_lowercase_hex_with_the_creation_second_up_front()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_717_000_000);
        var id = ObjectId.NewId(now);
        Assert.Matches("^[0-9a-f]{24}$", id.ToString());
        Assert.Equal(now, id.CreatedAt);
        Assert.Equal(1_717_000_000.ToString("x8"), id.ToString()[..8]);
    }

    [Fact]
    public void Ids_made_in_the_same_second_are_distinct_and_share_the_process_bytes()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 10_000).Select(_ => ObjectId.NewId(now).ToString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Single(ids.Select(i => i[8..18]).Distinct());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("665f1c2a9b1e8a3f4c2d1e0")]
    [InlineData("665f1c2a9b1e8a3f4c2d1e0ff")]
    [InlineData("665F1C2A9B1E8A3F4C2D1E0F")]
    [InlineData("665f1c2a9b1e8a3f4c2d1e0g")]
    [InlineData("not-an-object-id-at-all!")]
    public void Malformed_ids_do_not_parse(string? text)
    {
        Assert.False(ObjectId.TryParse(text, out _));
    }

    [Fact]
    public void A_well_formed_id_parses_to_itself()
    {
        Assert.True(ObjectId.TryParse("665f1c2a9b1e8a3f4c2d1e0f", out var id));
        Assert.Equal("665f1c2a9b1e8a3f4c2d1e0f", id.ToString());
    }
}
