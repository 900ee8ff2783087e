namespace Sessions.Testing;

/// <summary>
/// Waits for something another thread does (a background sweep, a renewal the test's clock set off) to become true.
/// It waits for an event, never for time to pass: the deadline only turns a hang into a failure.
/// </summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string? what = null, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not true within {timeoutSeconds} s: {what ?? "the condition"}.");
            }

            await Task.Delay(20);
        }
    }
}
