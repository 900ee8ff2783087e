using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;
using static ArchUnitNET.Fluent.Slices.SliceRuleDefinition;

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

    [Fact]
    public void The_runtimes_folders_have_no_cycles()
    {
        Slices().Matching("Sessions.Runtime.(*)..").Should().BeFreeOfCycles().Check(Sessions);
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
