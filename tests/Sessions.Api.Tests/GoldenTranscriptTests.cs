using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Api.Tests;

/// <summary>Each sample workflow driven through a scripted conversation, every exchange compared with its golden file.</summary>
public sealed class GoldenTranscriptTests : IDisposable
{
    private readonly SessionsFactory factory = new();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task Order_status_transcript()
    {
        var transcript = new Transcript(factory.CreateClient(), SessionsFactory.OrderStatus);
        await transcript.TurnAsync(new { dynamic_variables = new { name = "Ada" }, run_by = "user-42" });
        await transcript.TurnAsync(new { user_message = "12" }, expectedStatus: 422);
        await transcript.TurnAsync(new { user_message = "654321" });
        await transcript.TurnAsync(new { user_message = "123456" });
        await transcript.TurnAsync(new { user_message = "again" }, expectedStatus: 409);
        Golden.Verify("order-status", transcript.Exchanges);
        Golden.Verify("order-status-reads", await transcript.ReadsAsync());
    }

    [Fact]
    public async Task Support_ticket_transcript_with_a_correction_loop()
    {
        var transcript = new Transcript(factory.CreateClient(), SessionsFactory.SupportTicket);
        await transcript.TurnAsync(new { });
        await transcript.TurnAsync(new { user_message = "A" }, expectedStatus: 422);
        await transcript.TurnAsync(new { user_message = "Ada Lovelace" });
        await transcript.TurnAsync(new { user_message = "not-an-email" }, expectedStatus: 422);
        await transcript.TurnAsync(new { user_message = "ada@example.com" });
        await transcript.TurnAsync(new { user_message = "refunds" }, expectedStatus: 422);
        await transcript.TurnAsync(new { user_message = "Something is broken" });
        await transcript.TurnAsync(new { user_message = "sometimes" }, expectedStatus: 422);
        await transcript.TurnAsync(new { user_message = "yes" });
        await transcript.TurnAsync(new { user_message = "no" });
        await transcript.TurnAsync(new { user_message = "Email" });
        await transcript.TurnAsync(new { dynamic_variables = new { user_message = "ada@analytical.engine" } });
        await transcript.TurnAsync(new { user_message = "Y", command = "data" });
        Golden.Verify("support-ticket", transcript.Exchanges);
        Golden.Verify("support-ticket-reads", await transcript.ReadsAsync());
    }

    [Fact]
    public async Task Appointment_booking_transcript_through_a_pause()
    {
        var transcript = new Transcript(factory.CreateClient(), SessionsFactory.AppointmentBooking);
        await transcript.TurnAsync(new { });
        await transcript.TurnAsync(new { user_message = "Dental cleaning" });
        await transcript.TurnAsync(new { user_message = "2026-13-01" }, expectedStatus: 422);
        await transcript.TurnAsync(new { user_message = "2026-12-03" });
        await transcript.TurnAsync(new { user_message = "afternoon" });
        await transcript.TurnAsync(new { command = "resume" });
        await transcript.TurnAsync(new { command = "pause" });
        await transcript.TurnAsync(new { command = "resume" }, expectedStatus: 200);
        await transcript.TurnAsync(new { user_message = "no" });
        Golden.Verify("appointment-booking", transcript.Exchanges);
        Golden.Verify("appointment-booking-reads", await transcript.ReadsAsync());
    }

    /// <summary>Records request and answer pairs; echoes the run_id like a real client.</summary>
    private sealed class Transcript(HttpClient client, string workflowId)
    {
        private string? runId;

        /// <summary>
        /// What support staff read of the finished conversation, through every read of a run: the run, its turns (a
        /// page, and the second one alone), its events, and its transcript as JSON and as Markdown.
        /// </summary>
        public async Task<JsonObject> ReadsAsync()
        {
            var reads = new JsonObject();
            foreach (var path in new[] { "", "/turns", "/turns/2", "/events", "/transcript" })
            {
                var response = await client.GetAsync($"/v1/runs/{runId}{path}");
                Assert.True(response.IsSuccessStatusCode, path);
                reads[$"GET /v1/runs/{{id}}{path}"] = await response.ReadObjectAsync();
            }

            reads["GET /v1/runs/{id}/transcript?format=markdown"] = await client.GetStringAsync($"/v1/runs/{runId}/transcript?format=markdown");
            return reads;
        }

        public JsonArray Exchanges { get; } = [];

        public async Task TurnAsync(object runInput, int expectedStatus = 200)
        {
            var body = new JsonObject { ["run_id"] = runId, ["run_input"] = JsonSerializer.SerializeToNode(runInput) };
            var response = await client.ExecuteAsync(workflowId, body);
            var answer = await response.ReadObjectAsync();
            Assert.True(expectedStatus == (int)response.StatusCode, answer.ToJsonString());
            runId ??= answer["run_id"]?.GetValue<string>();
            Exchanges.Add(new JsonObject
            {
                ["request"] = body,
                ["status_code"] = (int)response.StatusCode,
                ["content_type"] = response.Content.Headers.ContentType?.MediaType,
                ["response"] = answer,
            });
        }
    }
}
