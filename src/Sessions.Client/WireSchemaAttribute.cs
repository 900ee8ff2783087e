namespace Sessions.Client;

/// <summary>
/// The schema of the server's OpenAPI document a model stands for: a test holds every model to its schema (every field
/// of the schema has a property here), so the client cannot fall behind the server unnoticed.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class WireSchemaAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>The endpoint of the server's OpenAPI document a client method calls (`GET /v1/runs/{run_id}`).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true, Inherited = false)]
public sealed class EndpointAttribute(string method, string path) : Attribute
{
    public string Method { get; } = method;

    public string Path { get; } = path;
}
