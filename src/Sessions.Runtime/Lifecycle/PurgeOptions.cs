using System.ComponentModel.DataAnnotations;

namespace Sessions.Runtime.Lifecycle;

/// <summary>When stored runs are erased. Section `Sessions:Purge`.</summary>
public sealed class PurgeOptions
{
    public const string Section = "Sessions:Purge";

    /// <summary>Minutes between purges on each server; 0 purges only when an admin asks (`POST /v1/runs/purge`).</summary>
    [Range(0, 7 * 24 * 60)]
    public double IntervalMinutes { get; set; } = 60;

    /// <summary>How long a deleted run stays readable by admins (`include_deleted=true`) before a scheduled purge erases it.</summary>
    [Range(0, 24 * 365)]
    public double DeletedGraceHours { get; set; } = 24;

    /// <summary>Runs erased per round of a purge, each in its own transaction.</summary>
    [Range(1, 10_000)]
    public int Batch { get; set; } = 100;

    public TimeSpan Interval => TimeSpan.FromMinutes(IntervalMinutes);

    public TimeSpan DeletedGrace => TimeSpan.FromHours(DeletedGraceHours);
}
