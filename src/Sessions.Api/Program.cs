using Microsoft.Extensions.Options;
using Sessions.Api.Webhooks;
using Sessions.Runtime.Webhooks;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sessions.Api.Configuration;
using Sessions.Api.Contracts;
using Sessions.Api.Endpoints;
using Sessions.Api.Hosting;
using Sessions.Api.Http;
using Sessions.Api.OpenApi;
using Sessions.Api.Protocols.AiSdk;
using Sessions.Api.Protocols.LangGraph;
using Sessions.Api.Samples;
using Sessions.Api.Security;
using Sessions.Nodes;
using Sessions.Nodes.Llm;
using Sessions.Runtime;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.Lifecycle;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Turns.Answers;

var builder = WebApplication.CreateBuilder(args);

// A host that fails to start logs its stack trace at Error; the reasons a person can act on are said in one line
// below instead (StartupFailure). A background service that dies still logs at Critical, with its exception.
builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

// The default address is set here, not in appsettings.json, where it would override ASPNETCORE_URLS and --urls.
if (!ListenGuard.AnyConfigured(builder.Configuration))
{
    builder.WebHost.UseUrls(ListenGuard.DefaultUrl);
}

var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
if (auth.Jwt.Problem() is { } jwtProblem)
{
    Console.Error.WriteLine(jwtProblem);
    return 2;
}

if (!auth.Enabled && ListenGuard.NonLoopbackAddresses(builder.Configuration) is { Count: > 0 } open)
{
    // Without keys every request is the default tenant's admin: that is for a developer's own machine only.
    Console.Error.WriteLine(
        $"Refusing to listen on {string.Join(", ", open)}: no API keys (Sessions:Auth:ApiKeys) and no token issuer are configured, so only loopback "
        + "addresses (127.0.0.1, [::1], localhost) are allowed. Configure API keys or an issuer (Sessions:Auth:Jwt) to listen on other addresses.");
    return 2;
}

builder.Services.AddOptions<SessionsOptions>().BindConfiguration(SessionsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<TurnOptions>().BindConfiguration(TurnOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<Sessions.Runtime.Recordings.ReplayOptions>().BindConfiguration(Sessions.Runtime.Recordings.ReplayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ReaperOptions>().BindConfiguration(ReaperOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<Sessions.Runtime.Batches.BatchOptions>().BindConfiguration(Sessions.Runtime.Batches.BatchOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<PurgeOptions>().BindConfiguration(PurgeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<Sessions.Runtime.Files.FileOptions>().BindConfiguration(Sessions.Runtime.Files.FileOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart()
    .Validate(o => o.ApiKeys.All(k => System.ComponentModel.DataAnnotations.Validator.TryValidateObject(k, new(k), null, validateAllProperties: true)), "Each of Sessions:Auth:ApiKeys needs Sha256 (64 hex digits), Tenant, Principal and Role (admin, editor or viewer).");
builder.Services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.Section);
builder.Services.AddOptions<Sessions.Runtime.Telemetry.TelemetryOptions>().BindConfiguration(Sessions.Runtime.Telemetry.TelemetryOptions.Section).ValidateDataAnnotations().ValidateOnStart();

// Every answer is the JSON of the answers turns store under their idempotency keys.
builder.Services.ConfigureHttpJsonOptions(json => ProtocolJson.Apply(json.SerializerOptions));
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemMapping>();
builder.Services.AddOpenApi(openApi =>
{
    openApi.AddOperationTransformer<ParameterSchemas>();
    openApi.AddOperationTransformer<ContractDetails>();
    openApi.AddDocumentTransformer<BearerScheme>();
    openApi.AddDocumentTransformer<ContractDetails>();
});
builder.Services.AddSessionsHealthChecks();

// One `Bearer` scheme for both credentials: a JWT goes to the JWT bearer handler (when an issuer is configured),
// anything else is looked up as an API key.
var authentication = builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
    .AddPolicyScheme(ApiKeyAuthentication.SchemeName, null, bearer => bearer.ForwardDefaultSelector = http =>
        auth.Jwt.Enabled && JwtAuthentication.LooksLikeJwt(JwtAuthentication.Presented(http.Request)) ? JwtAuthentication.SchemeName : ApiKeyAuthentication.HandlerScheme)
    .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.HandlerScheme, null);
if (auth.Jwt.Enabled)
{
    authentication.AddJwtBearer(JwtAuthentication.SchemeName, bearer => JwtAuthentication.Configure(bearer, auth.Jwt));

    // The same handler, with its lines about refused tokens at debug.
    builder.Services.Configure<Microsoft.AspNetCore.Authentication.AuthenticationOptions>(options =>
        options.SchemeMap[JwtAuthentication.SchemeName].HandlerType = typeof(QuietJwtBearerHandler));
}
builder.Services.AddAuthorization(Policies.Add);
builder.Services.AddHttpContextAccessor();
builder.Services.AddScoped(sp => new Caller(sp.GetRequiredService<IHttpContextAccessor>().HttpContext!));
builder.Services.AddSessionsRateLimiting();
builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
    .WithOrigins(builder.Configuration.GetSection($"{SessionsOptions.Section}:{nameof(SessionsOptions.CorsOrigins)}").Get<string[]>() ?? [])
    .AllowAnyHeader()
    .AllowAnyMethod()
    // LangGraph's SDK reads the run it started from Content-Location, and rejoins its stream at Location.
    .WithExposedHeaders("Content-Location", "Location", "Retry-After", ExecuteEndpoints.ReplayedHeader)));

builder.Services.AddSessionsRuntime();
builder.Services.AddSessionsTelemetry(builder.Configuration);
builder.Services.AddSingleton<ISecretStore, ConfiguredSecretStore>();
builder.Services.AddSessionsNodes();
try
{
    builder.Services.AddConfiguredStore(builder.Configuration);
}
catch (UnknownStoreException unknown)
{
    // Said before the host exists, in the same one line as every other startup failure.
    Console.Error.WriteLine(unknown.Message);
    return 3;
}
builder.Services.AddSingleton<RequestBody>();
builder.Services.AddHostedService<StoreInitialization>();
builder.Services.AddHostedService<SampleWorkflows>();
builder.Services.AddHostedService<ReaperService>();
builder.Services.AddHostedService<PurgeService>();
builder.Services.AddHostedService<BatchWorkerService>();
builder.Services.AddHostedService<WorkerService>();
builder.Services.AddHostedService<WebhookService>();
builder.Services.AddHostedService<GaugeService>();
builder.Services.AddSingleton<IWebhookSender, HttpWebhookSender>();
builder.Services.AddHttpClient(HttpWebhookSender.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
    .ConfigurePrimaryHttpMessageHandler(services => HttpWebhookSender.Handler(services.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowPrivateNetworks));

var app = builder.Build();

// Resolve the handler registry now so that two handlers claiming one node type stop the server at startup.
app.Services.GetRequiredService<NodeHandlerRegistry>();

app.UseExceptionHandler();
app.UseStatusCodePages(ProblemMapping.WriteStatusCodeProblem);
app.UseConsole();

// Before authentication: a browser's preflight carries no key.
app.UseCors();
app.UseAuthentication();

// After authentication, so that requests are counted per API key; before authorization, so that bad keys count too.
app.UseRateLimiter();
app.UseAuthorization();

app.MapOpenApi().AllowAnonymous();
app.MapHealth();
app.MapMetrics(builder.Configuration);
app.MapWorkflows();
app.MapExecute();
app.MapRuns();
app.MapBatches();
app.MapEvaluations();
app.MapLangGraph();
app.MapAiSdkChat();

try
{
    app.Run();
}
catch (Exception failure) when (StartupFailure.Describe(failure, builder.Configuration) is { } reason)
{
    // One line a person can act on, instead of the host's stack trace.
    Console.Error.WriteLine(reason);
    return 3;
}

return 0;

/// <summary>Visible to WebApplicationFactory in the end-to-end tests.</summary>
public partial class Program;
