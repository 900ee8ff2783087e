using System.Runtime.CompilerServices;
using System.Text;

namespace Sessions.Client;

/// <summary>One message of a `text/event-stream`: its id (the event's seq, for Sessions' events), name and data.</summary>
internal readonly record struct ServerSentEvent(string? Id, string Name, string Data);

/// <summary>Reads a `text/event-stream` as the WHATWG spec has it (fields `id`, `event`, `data`; comments; blank line ends a message).</summary>
internal static class ServerSentEvents
{
    public static async IAsyncEnumerable<ServerSentEvent> ReadAsync(Stream body, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(body, Encoding.UTF8);
        string? id = null;
        string name = "message";
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData)
                {
                    yield return new ServerSentEvent(id, name, data.ToString());
                }

                (id, name, hasData) = (null, "message", false);
                data.Clear();
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "id":
                    id = value;
                    break;
                case "event":
                    name = value;
                    break;
                case "data":
                    if (hasData)
                    {
                        data.Append('\n');
                    }

                    data.Append(value);
                    hasData = true;
                    break;
            }
        }
    }
}
