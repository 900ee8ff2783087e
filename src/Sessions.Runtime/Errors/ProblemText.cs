namespace Sessions.Runtime.Errors;

/// <summary>How a refusal quotes the value it refused: in full when short, cut when long, so a hostile value cannot swell a problem.</summary>
public static class ProblemText
{
    public const int MostQuoted = 60;

    public static string Shorten(string value) => value.Length <= MostQuoted ? value : value[..(MostQuoted - 3)] + "...";
}
