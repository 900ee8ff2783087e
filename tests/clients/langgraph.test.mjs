// LangGraph's own SDK, unmodified, driving a real Sessions server through its Agent Server API.
// Run by tests/Sessions.Clients.Tests (SQLite and PostgreSQL, SDK 1.15.0 and 2.0.0) with:
//   SESSIONS_URL        the server's address
//   SESSIONS_KEY        an editor key of the tenant holding the samples
//   SESSIONS_OTHER_KEY  a key of another tenant
//   LANGGRAPH_SDK       the package to import: @langchain/langgraph-sdk (1.15.0) or langgraph-sdk-2 (2.0.0)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startLoopbackModel, chattyWorkflow, startSlowApi, slowLookupWorkflow, upload as uploadTo } from "./stand-ins.mjs";

const { Client } = await import(process.env.LANGGRAPH_SDK ?? "@langchain/langgraph-sdk");
const apiUrl = process.env.SESSIONS_URL;
const apiKey = process.env.SESSIONS_KEY;
const client = new Client({ apiUrl, apiKey });
const stranger = new Client({ apiUrl, apiKey: process.env.SESSIONS_OTHER_KEY });
const APPOINTMENTS = "66a1f0000000000000000003";

// A slow API on loopback, so that a turn is still running while the test does something else.
let slowApi;
let slowWorkflow;
let model;
let chattyModel;
before(async () => {
  model = await startLoopbackModel();
  chattyModel = await upload(chattyWorkflow(model.url));
  slowApi = await startSlowApi();
  slowWorkflow = await upload(slowLookupWorkflow(slowApi.url));
});
after(() => { slowApi?.close(); model?.close(); });

const upload = (definition) => uploadTo(apiUrl, apiKey, definition);

async function execute(workflowId, body) {
  const response = await fetch(`${apiUrl}/v1/workflows/${workflowId}/execute`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const texts = (values) => values.messages.map((m) => `${m.type}: ${m.content}`);
const interruptOf = (values) => values.__interrupt__?.[0]?.value;

test("assistants are the workflows", async () => {
  const found = await client.assistants.search({ limit: 100 });
  const appointments = found.find((a) => a.assistant_id === APPOINTMENTS);
  assert.ok(appointments, "the sample is an assistant");
  assert.equal(appointments.graph_id, APPOINTMENTS);
  assert.equal((await client.assistants.get(APPOINTMENTS)).name, "Appointment booking");

  const graph = await client.assistants.getGraph(APPOINTMENTS);
  assert.ok(graph.nodes.some((n) => n.id === "ask_service"));
  assert.ok(graph.edges.some((e) => e.source === "__start__" && e.target === "hello"));
  const schemas = await client.assistants.getSchemas(APPOINTMENTS);
  assert.deepEqual(Object.keys(schemas.state_schema.properties).sort(), ["date", "messages", "reminder", "service", "slot"]);
  await assert.rejects(client.assistants.get("not-an-id"), (e) => e.status === 404);
});

test("a conversation runs to its interrupts and its end, with state and history", async () => {
  const thread = await client.threads.create({ metadata: { customer: "ada" } });
  assert.equal(thread.status, "idle");

  // The first run: metadata first, the run it created named by Content-Location, the interrupt in updates and values.
  let created;
  const parts = await collect(client.runs.stream(thread.thread_id, APPOINTMENTS, {
    input: {},
    streamMode: ["values", "updates", "messages-tuple"],
    onRunCreated: (run) => { created = run; },
  }));
  assert.equal(parts[0].event, "metadata");
  assert.equal(created.thread_id, thread.thread_id);
  assert.equal(parts[0].data.run_id, created.run_id);
  assert.ok(!parts.some((p) => p.event === "end" || p.event === "error"));
  const said = parts.filter((p) => p.event === "messages").map((p) => p.data[0].content);
  assert.deepEqual(said, ["Let's book your appointment.", "Which service do you need?"]);
  const updates = parts.filter((p) => p.event === "updates");
  assert.equal(updates.at(-1).data.__interrupt__[0].value.node_id, "ask_service");
  const values = parts.filter((p) => p.event === "values");
  assert.equal(interruptOf(values.at(-1).data).prompt, "Which service do you need?");
  assert.deepEqual(texts(values.at(-2).data), ["ai: Let's book your appointment.", "ai: Which service do you need?"]);

  let state = await client.threads.getState(thread.thread_id);
  assert.deepEqual(state.next, ["ask_service"]);
  assert.deepEqual(state.tasks[0].interrupts[0].value.input.options.map((o) => o.value), ["checkup", "dental", "vaccine"]);
  assert.equal((await client.threads.get(thread.thread_id)).status, "interrupted");

  // A reply that does not fit is a 422 whose detail says why, and the thread does not move.
  await assert.rejects(
    client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "surgery" } }),
    (e) => e.status === 422 && /checkup, dental, vaccine/.test(e.message));
  const unchanged = await client.threads.getState(thread.thread_id);
  assert.equal(unchanged.checkpoint.checkpoint_id, state.checkpoint.checkpoint_id);

  let result = await client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "dental" } });
  assert.equal(interruptOf(result).node_id, "ask_date");
  await assert.rejects(client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "2026-13-01" } }), (e) => e.status === 422);
  // A human message is a reply too, as useStream sends one.
  result = await client.runs.wait(thread.thread_id, APPOINTMENTS, { input: { messages: [{ type: "human", content: "2026-12-03" }] } });
  assert.equal(interruptOf(result).node_id, "ask_slot");
  result = await client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "afternoon" } });
  assert.equal(interruptOf(result).paused, true, "a pause is an interrupt too");
  result = await client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: true } });
  assert.equal(interruptOf(result).input.kind, "boolean");
  result = await client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: false } });
  assert.equal(result.__interrupt__, undefined);
  assert.equal(result.service, "dental");
  assert.equal(result.reminder, false);
  assert.match(texts(result).at(-1), /^ai: All set\. No reminder will be sent\. See you then!$/);
  assert.ok(texts(result).includes("human: dental"));

  const finished = await client.threads.get(thread.thread_id);
  assert.equal(finished.status, "idle", "a finished thread is idle");
  assert.equal(finished.metadata.customer, "ada");

  // History: newest first, one state per run, each linked to the one before.
  const history = await client.threads.getHistory(thread.thread_id, { limit: 100 });
  assert.equal(history.length, 6);
  for (let i = 0; i < history.length - 1; i++) {
    assert.equal(history[i].parent_checkpoint.checkpoint_id, history[i + 1].checkpoint.checkpoint_id);
  }
  assert.equal(history.at(-1).parent_checkpoint, null);
  assert.deepEqual(history.at(-1).next, ["ask_service"]);
  assert.ok(history[0].values.messages.length > history.at(-1).values.messages.length);
  const older = await client.threads.getHistory(thread.thread_id, { limit: 2, before: { configurable: { checkpoint_id: history[1].checkpoint.checkpoint_id } } });
  assert.deepEqual(older.map((s) => s.checkpoint.checkpoint_id), history.slice(2, 4).map((s) => s.checkpoint.checkpoint_id));

  const runs = await client.runs.list(thread.thread_id, { limit: 100 });
  assert.equal(runs.length, 6);
  assert.ok(runs.every((r) => r.status === "success"));
  assert.equal((await client.runs.get(thread.thread_id, created.run_id)).status, "success");

  const found = await client.threads.search({ metadata: { customer: "ada" }, limit: 100 });
  assert.ok(found.some((t) => t.thread_id === thread.thread_id));
});

test("a first human message is the first turn's message and the run's last_user_message, and every stream mode streams", async () => {
  const thread = await client.threads.create();
  const parts = await collect(client.runs.stream(thread.thread_id, slowWorkflow, {
    input: { messages: [{ type: "human", content: "Grace" }] },
    streamMode: ["messages", "custom", "events", "debug", "updates", "tasks", "checkpoints", "tools"],
  }));
  const events = new Set(parts.map((p) => p.event));
  for (const kind of ["metadata", "messages/metadata", "messages/complete", "custom", "events", "debug", "updates", "tasks", "checkpoints"]) {
    assert.ok(events.has(kind), `${kind} in ${[...events]}`);
  }
  const complete = parts.filter((p) => p.event === "messages/complete").map((p) => p.data[0].content);
  assert.deepEqual(complete, ["Grace", "Hello Grace.", "What shall I look up?"]);
  assert.equal(parts.find((p) => p.event === "messages/complete").data[0].type, "human");
  assert.ok(parts.some((p) => p.event === "custom" && p.data.type === "busy_wait_for_user_message"));
  assert.ok(parts.some((p) => p.event === "debug" && p.data.type === "checkpoint"));
  const checkpoint = parts.find((p) => p.event === "checkpoints").data;
  assert.deepEqual(checkpoint.next, ["ask_topic"]);
  assert.equal(checkpoint.config.configurable.thread_id, thread.thread_id);
  const greet = parts.filter((p) => p.event === "tasks" && p.data.name === "greet").map((p) => p.data);
  assert.equal(greet.length, 2, "a task as it starts and as it ends");
  assert.equal(greet[1].result[0][0], "messages");
});

test("a model's reply streams in pieces and reads back as the one message it became", async () => {
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, chattyModel, { input: {} });
  const parts = await collect(client.runs.stream(thread.thread_id, chattyModel, {
    input: { messages: [{ type: "human", content: "the sea is calm today" }] },
    streamMode: ["messages-tuple", "messages"],
  }));
  const chunks = parts.filter((p) => p.event === "messages" && p.data[0].type === "AIMessageChunk").map((p) => p.data[0]);
  assert.ok(chunks.length >= 5, `the reply came in ${chunks.length} pieces`);
  assert.equal(chunks.map((c) => c.content).join(""), "You said: the sea is calm today");
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, "every piece is one message");
  const partial = parts.filter((p) => p.event === "messages/partial").map((p) => p.data[0].content);
  assert.equal(partial.at(-1), "You said: the sea is calm today");
  const complete = parts.filter((p) => p.event === "messages/complete" && p.data[0].type === "ai").map((p) => p.data[0]);
  assert.deepEqual(complete.map((m) => m.content), ["You said: the sea is calm today"]);
  assert.equal(complete[0].id, chunks[0].id);

  const state = await client.threads.getState(thread.thread_id);
  const kept = state.values.messages.at(-1);
  assert.equal(kept.content, "You said: the sea is calm today");
  assert.equal(kept.id, chunks[0].id, "read back under the id it streamed with");
});

test("a run that fails is an error event in the stream and __error__ from runs.wait", async () => {
  const failing = await upload({
    name: "Fails when asked",
    start: "ask",
    variables: { what: null },
    nodes: [
      { id: "ask", type: "ask", prompt: "Shall I fail?", variable: "what", input: { kind: "text" }, next: "boom" },
      { id: "boom", type: "fail", error: "Failed because you said {{what}}" },
    ],
  });
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, failing, { input: {} });
  const parts = await collect(client.runs.stream(thread.thread_id, failing, { command: { resume: "yes" }, streamMode: ["values"] }));
  const error = parts.find((p) => p.event === "error");
  assert.ok(error, `an error event in ${parts.map((p) => p.event)}`);
  assert.equal(error.data.error, "failed");
  assert.equal(error.data.message, "Failed because you said yes");
  assert.equal((await client.threads.get(thread.thread_id)).status, "error");

  const other = await client.threads.create();
  await client.runs.wait(other.thread_id, failing, { input: {} });
  // The SDK reads __error__ and throws it as `error: message`.
  await assert.rejects(client.runs.wait(other.thread_id, failing, { command: { resume: "no" } }), (e) => e.message === "failed: Failed because you said no");
  const runs = await client.runs.list(other.thread_id);
  assert.equal(runs[0].status, "error");
});

test("a stream left early is joined again after its last event", async () => {
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, slowWorkflow, { input: {} });

  // The turn takes 1.5 s at its API call; leave after its first messages.
  const controller = new AbortController();
  let runId;
  let lastEventId;
  const seen = [];
  try {
    for await (const part of client.runs.stream(thread.thread_id, slowWorkflow, {
      command: { resume: "life" },
      streamMode: ["updates"],
      signal: controller.signal,
      onRunCreated: (run) => { runId = run.run_id; },
    })) {
      seen.push(part);
      lastEventId = part.id ?? lastEventId;
      if (part.event === "updates") controller.abort();
    }
  } catch (e) {
    assert.equal(e.name, "AbortError");
  }
  assert.ok(runId && lastEventId, "the stream named its run and its events");
  assert.equal((await client.runs.get(thread.thread_id, runId)).status, "running");

  const rest = await collect(client.runs.joinStream(thread.thread_id, runId, { lastEventId, streamMode: ["updates"] }));
  const nodes = rest.filter((p) => p.event === "updates").map((p) => Object.keys(p.data)[0]);
  assert.ok(!nodes.includes("ask_topic") || nodes.indexOf("tell") < nodes.indexOf("ask_topic"));
  assert.ok(nodes.includes("tell"), `the rest of the turn: ${nodes}`);
  assert.ok(rest.every((p) => p.event === "metadata" || Number(p.id) > Number(lastEventId)), "nothing before Last-Event-ID again");
  assert.equal((await client.runs.join(thread.thread_id, runId)).__interrupt__[0].value.node_id, "ask_topic");
});

test("reject, enqueue and cancel on a busy thread", async () => {
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, slowWorkflow, { input: {} });
  const running = await client.runs.create(thread.thread_id, slowWorkflow, { command: { resume: "first" } });
  assert.equal(running.status, "pending");

  await assert.rejects(
    client.runs.create(thread.thread_id, slowWorkflow, { command: { resume: "second" }, multitaskStrategy: "reject" }),
    (e) => e.status === 422);
  await assert.rejects(
    client.runs.create(thread.thread_id, slowWorkflow, { command: { resume: "second" }, multitaskStrategy: "rollback" }),
    (e) => e.status === 422 && /not_supported/.test(e.message));
  const queued = await client.runs.create(thread.thread_id, slowWorkflow, { command: { resume: "second" }, multitaskStrategy: "enqueue" });
  assert.notEqual(queued.run_id, running.run_id);

  const first = await client.runs.join(thread.thread_id, running.run_id);
  assert.equal(interruptOf(first).node_id, "ask_topic");
  await client.runs.join(thread.thread_id, queued.run_id);
  const state = await client.threads.getState(thread.thread_id);
  assert.deepEqual(texts(state.values).filter((t) => t.startsWith("ai: first") || t.startsWith("ai: second")), ["ai: first: 42", "ai: second: 42"]);

  // Cancel: a finished run is left as it is; a running one stops the thread's run.
  await client.runs.cancel(thread.thread_id, running.run_id);
  assert.equal((await client.runs.get(thread.thread_id, running.run_id)).status, "success");
  const third = await client.runs.create(thread.thread_id, slowWorkflow, { command: { resume: "third" } });
  await client.runs.cancel(thread.thread_id, third.run_id, true);
  assert.notEqual((await client.runs.get(thread.thread_id, third.run_id)).status, "running");
  const after = await client.threads.get(thread.thread_id);
  assert.equal(after.status, "idle");
  const run = await (await fetch(`${apiUrl}/v1/runs/${thread.thread_id}`, { headers: { authorization: `Bearer ${apiKey}` } })).json();
  assert.equal(run.status, "cancelled");
});

test("a run started through execute goes on through the SDK and back", async () => {
  const started = await execute(APPOINTMENTS, { run_input: {} });
  assert.equal(started.status, 200);
  const threadId = started.body.run_id;
  assert.equal((await client.threads.getState(threadId)).next[0], "ask_service");

  const result = await client.runs.wait(threadId, APPOINTMENTS, { command: { resume: "vaccine" } });
  assert.equal(interruptOf(result).node_id, "ask_date");

  const back = await execute(APPOINTMENTS, { run_id: threadId, run_input: { user_message: "2026-12-24" } });
  assert.equal(back.status, 200);
  assert.equal(back.body.turn_number, 3);
  assert.equal(back.body.next_input_hint.node_id, "ask_slot");
  const history = await client.threads.getHistory(threadId);
  assert.equal(history.length, 3);
  assert.ok(texts(history[0].values).includes("human: 2026-12-24"));
});

test("another tenant's key sees nothing", async () => {
  const thread = await client.threads.create({ metadata: { secret: "yes" } });
  await client.runs.wait(thread.thread_id, APPOINTMENTS, { input: {} });
  await assert.rejects(stranger.threads.get(thread.thread_id), (e) => e.status === 404);
  await assert.rejects(stranger.threads.getState(thread.thread_id), (e) => e.status === 404);
  await assert.rejects(stranger.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "dental" } }), (e) => e.status === 404);
  assert.deepEqual(await stranger.threads.search({ metadata: { secret: "yes" } }), []);
  assert.ok(!(await stranger.assistants.search({ limit: 100 })).some((a) => a.assistant_id === APPOINTMENTS));
  assert.equal((await client.threads.get(thread.thread_id)).status, "interrupted", "and the thread did not move");
});

test("ids that are no ids are 404s, and what a workflow cannot do is refused clearly", async () => {
  await assert.rejects(client.threads.get("not-a-thread"), (e) => e.status === 404);
  await assert.rejects(client.threads.getState("00000000-0000-0000-0000-000000000000"), (e) => e.status === 404);
  const thread = await client.threads.create();
  await client.runs.wait(thread.thread_id, APPOINTMENTS, { input: {} });
  await assert.rejects(client.runs.get(thread.thread_id, "nope"), (e) => e.status === 404);
  await assert.rejects(client.threads.updateState(thread.thread_id, { values: { service: "x" } }), (e) => e.status === 422 && /not_supported/.test(e.message));
  await assert.rejects(client.runs.wait(null, APPOINTMENTS, { input: {} }), (e) => e.status === 422 && /not_supported/.test(e.message));
  await assert.rejects(
    client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { goto: "ask_date" } }),
    (e) => e.status === 422 && /command.goto/.test(e.message));
  await assert.rejects(
    client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "dental" }, interruptBefore: ["ask_date"] }),
    (e) => e.status === 422 && /interrupt_before/.test(e.message));
  assert.equal((await client.threads.get(thread.thread_id)).status, "interrupted");
  // An empty list asks for nothing, and other fields the SDK sends are taken as it sends them.
  const result = await client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "dental" }, interruptBefore: [], streamResumable: true, onDisconnect: "continue" });
  assert.equal(interruptOf(result).node_id, "ask_date");
});
