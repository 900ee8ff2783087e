namespace Sessions.Testing;

/// <summary>The repository a test runs from: the folder above its build output that holds Sessions.sln.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Sessions.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Sessions.sln) is not above " + AppContext.BaseDirectory);
    }
}
