using System.ComponentModel.DataAnnotations;

namespace Sessions.Runtime.Files;

/// <summary>Files sent with turns. Section `Sessions:Files`.</summary>
public sealed class FileOptions
{
    public const string Section = "Sessions:Files";

    /// <summary>The largest file a turn may send; a larger one is a `413` and nothing of it is kept.</summary>
    [Range(1, long.MaxValue)]
    public long MaxBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>The most files one turn may send.</summary>
    [Range(1, 100)]
    public int MaxFilesPerTurn { get; set; } = 10;

    /// <summary>How long the pieces of a file whose turn never committed (refused, or cut off) are kept before a purge erases them.</summary>
    [Range(0.01, 24 * 30)]
    public double OrphanHours { get; set; } = 1;

    public TimeSpan OrphanAge => TimeSpan.FromHours(OrphanHours);
}
