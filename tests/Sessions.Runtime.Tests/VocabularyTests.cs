using System.Text.Json;
using Sessions.Runtime.Runs;

namespace Sessions.Runtime.Tests;

public class VocabularyTests
{
    [Fact]
    public void Every_wire_name_is_snake_case_unique_and_reads_back()
    {
        AssertVocabulary<RunEventType>();
        AssertVocabulary<TerminationSource>();
        AssertVocabulary<RunOrigin>();
        AssertVocabulary<RunStatus>();
        AssertVocabulary<LlmMode>();
    }

    private static void AssertVocabulary<TEnum>()
        where TEnum : struct, Enum
    {
        var names = Enum.GetValues<TEnum>().Select(WireNames<TEnum>.Of).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+(_[a-z]+)*$", n));
        Assert.All(Enum.GetValues<TEnum>(), v =>
        {
            Assert.Equal(v, WireNames<TEnum>.Parse(WireNames<TEnum>.Of(v)));
            Assert.Equal($"\"{WireNames<TEnum>.Of(v)}\"", JsonSerializer.Serialize(v));
        });
    }
}
