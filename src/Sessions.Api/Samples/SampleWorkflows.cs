using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Sessions.Api.Configuration;
using Sessions.Api.Hosting;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Workflows;

namespace Sessions.Api.Samples;

/// <summary>
/// Creates the sample workflows that are absent before the server listens, and once it listens prints each sample's
/// id with a curl line that starts a conversation. Registered after <see cref="StoreInitialization"/>.
/// </summary>
public sealed class SampleWorkflows(
    WorkflowService workflows,
    IOptions<SessionsOptions> options,
    IServer server,
    IHostApplicationLifetime lifetime,
    ILogger<SampleWorkflows> logger) : BeforeListening
{
    /// <summary>Sample files carry their stable id here; it is not part of the definition and is removed before upload.</summary>
    public const string IdField = "workflow_id";

    private readonly List<(string Id, string Name)> loaded = [];

    public override async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.LoadSamples)
        {
            return;
        }

        var folder = Path.IsPathRooted(options.Value.SamplesPath) ? options.Value.SamplesPath : Path.Combine(AppContext.BaseDirectory, options.Value.SamplesPath);
        foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.json").Order().ToArray() : [])
        {
            var definition = JsonNode.Parse(await File.ReadAllTextAsync(file, cancellationToken))!.AsObject();
            if (definition[IdField]?.GetValueKind() != JsonValueKind.String || !ObjectId.TryParse(definition[IdField]!.GetValue<string>(), out var id))
            {
                throw new InvalidOperationException($"Sample {file} needs a \"{IdField}\" ObjectId.");
            }

            definition.Remove(IdField);
            var tenant = options.Value.DefaultTenant;
            if (!await workflows.ExistsAsync(tenant, id.ToString(), cancellationToken))
            {
                try
                {
                    await workflows.CreateAsync(tenant, id.ToString(), definition, cancellationToken);
                }
                catch (DomainException exists) when (exists.Code == ProblemCodes.WorkflowExists)
                {
                    // Another instance sharing the store created it a moment ago: that is the same sample.
                }
                catch (DomainException invalid) when (invalid.Code == ProblemCodes.InvalidDefinition)
                {
                    // Most likely configuration this server lacks (a model configuration the sample names): say which, and go on.
                    logger.LogWarning(
                        "Sample {File} was not loaded: {Errors}",
                        file,
                        System.Text.Json.JsonSerializer.Serialize(invalid.Extensions.GetValueOrDefault("errors")));
                    continue;
                }
            }

            loaded.Add((id.ToString(), definition["name"]!.GetValue<string>()));
        }

        lifetime.ApplicationStarted.Register(PrintBanner);
    }

    private void PrintBanner()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:5080";
        foreach (var (id, name) in loaded)
        {
            logger.LogInformation(
                "Sample workflow {Name}: {Id}\n  curl -s -X POST {Address}/v1/workflows/{Id}/execute -H 'Content-Type: application/json' -d '{{}}'",
                name, id, address, id);
        }
    }
}
