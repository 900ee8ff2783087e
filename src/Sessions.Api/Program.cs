using System.Text.Json;
using System.Text.Json.Serialization;
using Sessions.Api.Configuration;
using Sessions.Api.Endpoints;
using Sessions.Api.Http;
using Sessions.Api.OpenApi;
using Sessions.Api.Samples;
using Sessions.Nodes;
using Sessions.Nodes.Llm;
using Sessions.Runtime;
using Sessions.Runtime.Nodes;
using Sessions.Storage.Sqlite;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddOptions<SessionsOptions>().BindConfiguration(SessionsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<SqliteStoreOptions>().BindConfiguration(SqliteStoreOptions.Section).ValidateOnStart();
builder.Services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.Section);

builder.Services.ConfigureHttpJsonOptions(json =>
{
    json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
    json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;

    // Bodies are parsed by hand with strict types; the schema must not promise that numbers may come as strings.
    json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
});
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemMapping>();
builder.Services.AddOpenApi(openApi => openApi.AddOperationTransformer<ParameterSchemas>());
builder.Services.AddHealthChecks().AddCheck<HealthEndpoints.StoreHealthCheck>("store");

builder.Services.AddSessionsRuntime();
builder.Services.AddSingleton<ISecretStore, ConfiguredSecretStore>();
builder.Services.AddSessionsNodes();
builder.Services.AddSqliteStore();
builder.Services.AddSingleton<ITenantContext, DefaultTenantContext>();
builder.Services.AddSingleton<RequestBody>();
builder.Services.AddHostedService<StoreInitialization>();
builder.Services.AddHostedService<SampleWorkflows>();

var app = builder.Build();

// Resolve the handler registry now so that two handlers claiming one node type stop the server at startup.
app.Services.GetRequiredService<NodeHandlerRegistry>();

app.UseExceptionHandler();
app.UseStatusCodePages(ProblemMapping.WriteStatusCodeProblem);
app.UseConsole();

app.MapOpenApi();
app.MapHealth();
app.MapWorkflows();
app.MapExecute();
app.MapRuns();

app.Run();

/// <summary>Visible to WebApplicationFactory in the end-to-end tests.</summary>
public partial class Program;
