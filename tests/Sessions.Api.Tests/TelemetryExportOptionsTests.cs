using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;
using Sessions.Api.Hosting;

namespace Sessions.Api.Tests;

/// <summary>How the server batches the spans it exports: its own defaults, and the standard variables over them.</summary>
public sealed class TelemetryExportOptionsTests
{
    private static BatchExportActivityProcessorOptions BatchOptions(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)).Append(KeyValuePair.Create(Observability.EndpointVariable, (string?)"http://127.0.0.1:4318")))
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddSessionsTelemetry(configuration);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptionsMonitor<ActivityExportProcessorOptions>>().Get(Options.DefaultName).BatchExportProcessorOptions;
    }

    [Fact]
    public void Spans_go_out_in_large_batches_unless_the_standard_variables_say_otherwise()
    {
        var defaults = BatchOptions();
        Assert.Equal((Observability.SpansPerExport, Observability.SpansQueued), (defaults.MaxExportBatchSize, defaults.MaxQueueSize));

        var asked = BatchOptions(("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100"), ("OTEL_BSP_MAX_QUEUE_SIZE", "300"));
        Assert.Equal((100, 300), (asked.MaxExportBatchSize, asked.MaxQueueSize));
    }
}
