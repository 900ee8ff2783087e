using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using Sessions.Nodes;
using Sessions.Runtime;
using Sessions.Storage.Sqlite;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Sessions.Architecture.Tests;

/// <summary>
/// The arrows of the house style, held on the compiled assemblies: Api → Runtime ← Nodes, Storage.* → Runtime; the
/// runtime references neither ASP.NET nor a store provider; no cycle among the runtime's folders.
/// </summary>
public class ArchitectureTests
{
    private static readonly ArchUnitNET.Domain.Architecture Sessions = new ArchLoader()
        .LoadAssemblies(
            typeof(Runtime.Runs.RunMachine).Assembly,
            typeof(Api.Endpoints.ExecuteEndpoints).Assembly,
            typeof(Nodes.SayHandler).Assembly,
            typeof(Storage.Sqlite.SqliteRunStore).Assembly,
            typeof(Storage.Postgres.PostgresRunStore).Assembly,
            typeof(Storage.MongoDb.MongoRunStore).Assembly)
        .Build();

    private static IObjectProvider<IType> InNamespace(string prefix) => Types().That().ResideInNamespaceMatching($"^{prefix.Replace(".", "\\.")}(\\..*)?$").As(prefix);

    private static readonly string[] Providers = ["Sessions.Storage.Sqlite", "Sessions.Storage.Postgres", "Sessions.Storage.MongoDb"];

    /// <summary>
    /// A folder of the runtime is a slice with its subfolders (Turns/Gates is part of Turns): ArchUnitNET's own slices
    /// would make each namespace one, so the folders' dependencies are gathered here from its types and checked for a
    /// cycle, naming one dependency of each step of the cycle when there is one.
    /// </summary>
    [Fact]
    public void The_runtimes_folders_have_no_cycles()
    {
        static string? Folder(IType type) =>
            type.Namespace?.FullName is { } ns && ns.StartsWith("Sessions.Runtime.", StringComparison.Ordinal) ? ns["Sessions.Runtime.".Length..].Split('.')[0] : null;

        var edges = new Dictionary<(string From, string To), string>();
        foreach (var type in Sessions.Types)
        {
            if (Folder(type) is not { } from)
            {
                continue;
            }

            foreach (var dependency in type.Dependencies)
            {
                if (Folder(dependency.Target) is { } to && to != from)
                {
                    edges.TryAdd((from, to), $"{type.FullName} -> {dependency.Target.FullName}");
                }
            }
        }

        var next = edges.Keys.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToList());
        foreach (var start in next.Keys)
        {
            // A path back to the folder it started from is a cycle.
            var path = new List<string> { start };
            var seen = new HashSet<string>();
            if (FindWayBack(start, start, next, path, seen))
            {
                var steps = path.Zip(path.Skip(1)).Select(step => $"{step.First} -> {step.Second}: {edges[step]}");
                Assert.Fail($"The runtime's folders form a cycle:\n{string.Join("\n", steps)}");
            }
        }
    }

    /// <summary>
    /// An endpoint talks to the runtime through at most two of its services (the run facade, the workflow service and the
    /// like), and never to a store: handlers are the static methods of the endpoint classes, their services the
    /// parameters ASP.NET Core resolves from the runtime's services.
    /// </summary>
    [Fact]
    public void Endpoints_inject_no_store_and_at_most_two_runtime_services()
    {
        var registered = new Microsoft.Extensions.DependencyInjection.ServiceCollection()
            .AddSessionsRuntime().AddSessionsNodes().AddSqliteStore()
            .Select(d => d.ServiceType).Where(t => t.Namespace?.StartsWith("Sessions.", StringComparison.Ordinal) == true).ToHashSet();
        var handlers = typeof(Api.Endpoints.ExecuteEndpoints).Assembly.GetTypes()
            // The protocol adapters (LangGraph's API, the AI SDK's chat) are endpoints too: thin translations over the facade.
            .Where(t => t.Namespace == "Sessions.Api.Endpoints" || t.Namespace?.StartsWith("Sessions.Api.Protocols.", StringComparison.Ordinal) == true)
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.DeclaredOnly))
            .Where(m => !m.Name.StartsWith("Map", StringComparison.Ordinal) && !m.IsSpecialName)
            .ToList();
        Assert.NotEmpty(handlers);
        Assert.Contains(handlers, h => h.DeclaringType!.Namespace!.StartsWith("Sessions.Api.Protocols.", StringComparison.Ordinal));
        foreach (var handler in handlers)
        {
            var services = handler.GetParameters().Select(p => p.ParameterType).Where(registered.Contains).ToList();
            Assert.True(services.Count <= 2, $"{handler.DeclaringType!.Name}.{handler.Name} injects {services.Count} runtime services: {string.Join(", ", services.Select(t => t.Name))}");
            Assert.DoesNotContain(services, t => t.IsInterface && t.Name.EndsWith("Store", StringComparison.Ordinal));
        }
    }

    private static bool FindWayBack(string at, string home, Dictionary<string, List<string>> next, List<string> path, HashSet<string> seen)
    {
        foreach (var to in next.GetValueOrDefault(at, []))
        {
            if (to == home)
            {
                path.Add(to);
                return true;
            }

            if (seen.Add(to))
            {
                path.Add(to);
                if (FindWayBack(to, home, next, path, seen))
                {
                    return true;
                }

                path.RemoveAt(path.Count - 1);
            }
        }

        return false;
    }

    [Fact]
    public void The_runtime_references_no_other_project_of_the_server_and_no_aspnet()
    {
        foreach (var other in new[] { "Sessions.Api", "Sessions.Nodes", "Microsoft.AspNetCore" }.Concat(Providers))
        {
            Types().That().Are(InNamespace("Sessions.Runtime")).Should().NotDependOnAny(InNamespace(other)).Check(Sessions);
        }
    }

    [Fact]
    public void Node_handlers_reference_the_runtime_only()
    {
        foreach (var other in new[] { "Sessions.Api", "Microsoft.AspNetCore" }.Concat(Providers))
        {
            Types().That().Are(InNamespace("Sessions.Nodes")).Should().NotDependOnAny(InNamespace(other)).Check(Sessions);
        }
    }

    [Fact]
    public void A_store_provider_references_the_runtime_only()
    {
        foreach (var provider in Providers)
        {
            foreach (var other in new[] { "Sessions.Api", "Sessions.Nodes", "Microsoft.AspNetCore" }.Concat(Providers.Where(p => p != provider)))
            {
                Types().That().Are(InNamespace(provider)).Should().NotDependOnAny(InNamespace(other)).Check(Sessions);
            }
        }
    }

    [Fact]
    public void Only_the_hosting_of_the_api_knows_the_providers_and_the_node_handlers()
    {
        foreach (var other in Providers.Append("Sessions.Nodes"))
        {
            Types().That().Are(InNamespace("Sessions.Api")).And().DoNotResideInNamespace("Sessions.Api.Hosting").And().DoNotHaveFullName("Program")
                .Should().NotDependOnAny(InNamespace(other)).Check(Sessions);
        }
    }
}
