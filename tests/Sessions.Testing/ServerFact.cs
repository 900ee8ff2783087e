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
        return SkipReason(testMethod) is { } reason
            ? [new XunitSkippedDataRowTestCase(diagnostics, display, displayOptions, testMethod, reason)]
            : [new XunitTestCase(diagnostics, display, displayOptions, testMethod)];
    }

    /// <summary>Why the method's class cannot run here, or null when it can.</summary>
    public static string? SkipReason(ITestMethod testMethod)
    {
        var needs = testMethod.TestClass.Class.GetCustomAttributes(typeof(NeedsServerAttribute)).FirstOrDefault();
        if (needs is null)
        {
            return null;
        }

        var arguments = needs.GetConstructorArguments().ToList();
        return NeedsServerAttribute.SkipReason((string)arguments[0], (string)arguments[1]);
    }
}

/// <summary>A theory that runs unless its class is marked <see cref="NeedsServerAttribute"/> and that server is not named.</summary>
[XunitTestCaseDiscoverer("Sessions.Testing.ServerTheoryDiscoverer", "Sessions.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerTheoryAttribute : TheoryAttribute;

public sealed class ServerTheoryDiscoverer(IMessageSink diagnostics) : TheoryDiscoverer(diagnostics)
{
    private readonly IMessageSink diagnostics = diagnostics;

    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        ServerFactDiscoverer.SkipReason(testMethod) is { } reason
            ? [new XunitSkippedDataRowTestCase(diagnostics, options.MethodDisplayOrDefault(), options.MethodDisplayOptionsOrDefault(), testMethod, reason)]
            : base.Discover(options, testMethod, theoryAttribute);
}
