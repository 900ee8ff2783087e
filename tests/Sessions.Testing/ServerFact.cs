using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Sessions.Testing;

/// <summary>
/// Marks a test class whose tests need a server this machine may not have, named by an environment variable. Its
/// <see cref="ServerFactAttribute"/> tests run where the variable is set and are reported as skipped, with this
/// reason, where it is not: never as passed.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NeedsServerAttribute(string variable, string server) : Attribute
{
    public string Variable { get; } = variable;

    public string Server { get; } = server;

    public static string? SkipReason(string variable, string server) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 }
            ? null
            : $"needs {server}: set {variable} to its connection string (none can be installed on this machine)";
}

/// <summary>A fact that runs unless its class is marked <see cref="NeedsServerAttribute"/> and that server is not named.</summary>
[XunitTestCaseDiscoverer("Sessions.Testing.ServerFactDiscoverer", "Sessions.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerFactAttribute : FactAttribute;

public sealed class ServerFactDiscoverer(IMessageSink diagnostics) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = options.MethodDisplayOrDefault();
        var displayOptions = options.MethodDisplayOptionsOrDefault();
        var needs = testMethod.TestClass.Class.GetCustomAttributes(typeof(NeedsServerAttribute)).FirstOrDefault();
        var reason = needs is null ? null : NeedsServerAttribute.SkipReason(needs.GetConstructorArguments().ElementAt(0) as string ?? "", needs.GetConstructorArguments().ElementAt(1) as string ?? "");
        return reason is null
            ? [new XunitTestCase(diagnostics, display, displayOptions, testMethod)]
            : [new XunitSkippedDataRowTestCase(diagnostics, display, displayOptions, testMethod, reason)];
    }
}
