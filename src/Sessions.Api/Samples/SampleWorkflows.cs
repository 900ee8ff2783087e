using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Sessions.Api.Configuration;
using Sessions.Api.Hosting;
using Sessions.Api.Security;
using Sessions.Runtime.Errors;
using Sessions.Runtime.Ids;
using Sessions.Runtime.Workflows;

namespace Sessions.Api.Samples;

/// <summary>
/// Creates the sample workflows that are absent before the server listens, in every tenant a client can reach: the
/// default tenant without API keys, else each tenant that has a key. The first of them gets each sample's own id (the
/// one the README uses); any other tenant gets an id derived from it and the tenant, the same on every start. Once the
/// server listens, prints where it is, its console and store, and a curl line per sample. Registered after
/// <see cref="StoreInitialization"/>.
/// </summary>
public sealed class SampleWorkflows(
    WorkflowService workflows,
    IOptions<SessionsOptions> options,
    IOptions<AuthOptions> auth,
    IConfiguration configuration,
    IServer server,
    IHostApplicationLifetime lifetime,
    ILogger<SampleWorkflows> logger) : BeforeListening
{
    /// <summary>Sample files carry their stable id here; it is not part of the definition and is removed before upload.</summary>
    public const string IdField = "workflow_id";

    private readonly List<(string Tenant, string Id, string Name)> loaded = [];

    /// <summary>The tenants samples are loaded into, the one that keeps the samples' own ids first.</summary>
    /// <remarks>With keys: their tenants, and an issuer's fixed tenant; with neither known (tokens name their tenant), the default one.</remarks>
    public static IReadOnlyList<string> Tenants(SessionsOptions sessions, AuthOptions auth)
    {
        var tenants = auth.ApiKeys.Select(k => k.Tenant).Append(auth.Jwt.Tenant).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        return tenants.Count > 0 ? tenants : [sessions.DefaultTenant];
    }

    /// <summary>
    /// A sample's id in a tenant other than the first: ids are unique across tenants, so each needs its own. The
    /// timestamp part is kept; the rest is the sample's id mixed with a hash of the tenant, stable across restarts.
    /// </summary>
    public static string IdIn(string sampleId, string tenant, bool firstTenant)
    {
        if (firstTenant)
        {
            return sampleId;
        }

        var bytes = Convert.FromHexString(sampleId);
        var mix = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(tenant));
        for (var i = 4; i < 12; i++)
        {
            bytes[i] ^= mix[i];
        }

        return Convert.ToHexStringLower(bytes);
    }

    public override async Task StartingAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(PrintBanner);
        if (!options.Value.LoadSamples)
        {
            return;
        }

        var tenants = Tenants(options.Value, auth.Value);
        var folder = Path.IsPathRooted(options.Value.SamplesPath) ? options.Value.SamplesPath : Path.Combine(AppContext.BaseDirectory, options.Value.SamplesPath);
        foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder, "*.json").Order().ToArray() : [])
        {
            var definition = JsonNode.Parse(await File.ReadAllTextAsync(file, cancellationToken))!.AsObject();
            if (definition[IdField]?.GetValueKind() != JsonValueKind.String || !ObjectId.TryParse(definition[IdField]!.GetValue<string>(), out var sampleId))
            {
                throw new InvalidOperationException($"Sample {file} needs a \"{IdField}\" ObjectId.");
            }

            definition.Remove(IdField);
            for (var i = 0; i < tenants.Count; i++)
            {
                var id = IdIn(sampleId.ToString(), tenants[i], firstTenant: i == 0);
                if (await LoadAsync(tenants[i], id, file, definition, cancellationToken))
                {
                    loaded.Add((tenants[i], id, definition["name"]!.GetValue<string>()));
                }
            }
        }
    }

    private async Task<bool> LoadAsync(string tenant, string id, string file, JsonObject definition, CancellationToken cancellationToken)
    {
        if (await workflows.ExistsAsync(tenant, id, cancellationToken))
        {
            return true;
        }

        try
        {
            await workflows.CreateAsync(tenant, id, (JsonObject)definition.DeepClone(), cancellationToken);
            return true;
        }
        catch (DomainException exists) when (exists.Code == ProblemCodes.WorkflowExists)
        {
            // Another instance sharing the store created it a moment ago: that is the same sample.
            return true;
        }
        catch (DomainException invalid) when (invalid.Code == ProblemCodes.InvalidDefinition)
        {
            // Most likely configuration this server lacks (a model configuration the sample names): say which, and go on.
            logger.LogWarning("Sample {File} was not loaded: {Errors}", file, JsonSerializer.Serialize(invalid.Extensions.GetValueOrDefault("errors")));
            return false;
        }
    }

    private void PrintBanner()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:5080";
        var store = (configuration[StoreSelection.Key] ?? "sqlite").ToLowerInvariant() == "postgres"
            ? "PostgreSQL"
            : $"SQLite at {Path.GetFullPath(configuration["Sessions:Sqlite:Path"] ?? "data/sessions.db")}";
        logger.LogInformation(
            "Sessions listens on {Address}; console {Address}{Console}/; store: {Store}; API keys: {Keys}; tokens: {Issuer}",
            address,
            address,
            Endpoints.ConsoleEndpoints.Path,
            store,
            auth.Value.Enabled ? $"{auth.Value.ApiKeys.Count} configured" : "none (loopback only)",
            auth.Value.Jwt.Enabled ? $"from {auth.Value.Jwt.Authority}" : "none");
        var bearer = auth.Value.Enabled ? " -H \"Authorization: Bearer $KEY\"" : string.Empty;
        foreach (var (tenant, id, name) in loaded)
        {
            logger.LogInformation(
                "Sample workflow {Name} (tenant {Tenant}): {Id}\n  curl -s -X POST {Address}/v1/workflows/{Id}/execute{Bearer} -H 'Content-Type: application/json' -d '{{}}'",
                name, tenant, id, address, id, bearer);
        }
    }
}
