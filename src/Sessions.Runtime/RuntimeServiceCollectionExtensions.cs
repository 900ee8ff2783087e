using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sessions.Runtime.Branching;
using Sessions.Runtime.Definitions;
using Sessions.Runtime.Nodes;
using Sessions.Runtime.History;
using Sessions.Runtime.Templates;
using Sessions.Runtime.Turns;
using Sessions.Runtime.Workflows;
using Sessions.Runtime.Turns.Answers;

namespace Sessions.Runtime;

public static class RuntimeServiceCollectionExtensions
{
    /// <summary>
    /// The engine. Node handlers and a store provider are registered by their own projects; the provider also registers
    /// the run gate its store needs (<see cref="Turns.Gates.IRunGate"/>).
    /// </summary>
    public static IServiceCollection AddSessionsRuntime(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TemplateEngine>();
        services.AddSingleton<NodeHandlerRegistry>();
        services.AddSingleton<DefinitionCompiler>();
        services.AddSingleton<DefinitionCache>();
        services.AddSingleton<WorkflowService>();
        services.AddSingleton<RunEventFeed>();
        services.AddSingleton<RunningTurns>();
        services.AddSingleton<WorkSignal>();
        services.AddSingleton<BusyRuns>();
        services.AddSingleton<RecentRuns>();
        services.AddSingleton<IdempotencyKeys>();
        services.AddSingleton<TurnLoader>();
        services.AddSingleton<Turns.Answers.TurnAnswers>();
        services.AddSingleton<TurnCommitter>();
        services.AddSingleton<TurnPipeline>();
        services.AddSingleton<IdempotentTurns>();
        services.AddSingleton<StaleRunReaper>();
        services.AddSingleton<BackgroundTurns>();
        services.AddSingleton<RunWork>();
        services.AddSingleton<TurnResults>();
        services.AddSingleton<Webhooks.WebhookDispatcher>();
        services.AddSingleton<RunHistory>();
        services.AddSingleton<Lifecycle.RunLifecycle>();
        services.AddSingleton<Files.RunFiles>();
        services.AddSingleton<Batches.BatchWork>();
        services.AddSingleton<Batches.BatchService>();
        services.AddSingleton<Evaluations.EvaluationService>();
        services.AddSingleton<Workflows.IActivationGate, Evaluations.EvaluationGate>();
        services.AddSingleton<Batches.IBatchItemKind, Evaluations.EvaluationItems>();
        services.AddSingleton<ForkService>();
        services.AddSingleton<ReplayService>();
        services.AddSingleton<Facade.RunFacade>();
        services.AddSingleton<Conversations.ConversationDirectory>();
        services.AddSingleton<Telemetry.StoreGauges>();
        return services;
    }
}
