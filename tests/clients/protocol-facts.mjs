// What a LangGraph client sees of a server's protocol, as facts that do not depend on whose server it is: which
// events a stream sends and in what shape, how an interrupt looks, what runs/wait answers at one, how threads and runs
// report their status, how history links, what a busy thread answers. The comparison test runs this once against
// Sessions and once against LangGraph's own server on equivalent graphs, and compares the two.
//   PROTOCOL_URL; SESSIONS_KEY on Sessions (the assistants are then the appointment sample and a slow lookup uploaded
//   here, calling a slow API on loopback), none on LangGraph's server (its graphs in reference/graphs.mjs)
import { startSlowApi, slowLookupWorkflow, upload } from "./stand-ins.mjs";

const { Client } = await import(process.env.LANGGRAPH_SDK ?? "@langchain/langgraph-sdk");
const apiUrl = process.env.PROTOCOL_URL;
const sessionsKey = process.env.SESSIONS_KEY;
const client = new Client({ apiUrl, apiKey: sessionsKey ?? null });
let APPOINTMENTS = "appointments";
let LOOKUP = "lookup";
let slowApi;
if (sessionsKey) {
  slowApi = await startSlowApi();
  APPOINTMENTS = "66a1f0000000000000000003";
  LOOKUP = await upload(apiUrl, sessionsKey, slowLookupWorkflow(slowApi.url));
}
const facts = {};
const keys = (o) => Object.keys(o ?? {}).sort();
const collect = async (stream) => { const parts = []; for await (const p of stream) parts.push(p); return parts; };
const status = async (promise) => { try { await promise; return "ok"; } catch (e) { return e.status ?? e.name; } };

// A first run, streamed.
const thread = await client.threads.create({ metadata: { compared: "yes" } });
facts.new_thread_status = thread.status;
let created;
const parts = await collect(client.runs.stream(thread.thread_id, APPOINTMENTS, {
  input: {},
  streamMode: ["values", "updates", "messages-tuple"],
  onRunCreated: (run) => { created = run; },
}));
facts.stream_first_event = parts[0].event;
facts.stream_metadata_names_the_run = typeof parts[0].data.run_id === "string" && parts[0].data.run_id === created?.run_id;
facts.stream_content_location_names_the_thread = created?.thread_id === thread.thread_id;
facts.stream_event_names = [...new Set(parts.map((p) => p.event))].sort();
facts.stream_has_end_event = parts.some((p) => p.event === "end");
facts.stream_last_values_keys = keys(parts.filter((p) => p.event === "values").at(-1)?.data);
facts.stream_last_updates_keys = keys(parts.filter((p) => p.event === "updates").at(-1)?.data);
facts.interrupt_keys = keys(parts.filter((p) => p.event === "values").at(-1)?.data.__interrupt__?.[0]);
facts.interrupt_value_node = parts.filter((p) => p.event === "values").at(-1)?.data.__interrupt__?.[0]?.value?.node_id;
const tuples = parts.filter((p) => p.event === "messages");
facts.messages_tuple_shape = tuples.length > 0 && tuples.every((p) => Array.isArray(p.data) && p.data.length === 2 && typeof p.data[1].langgraph_node === "string");
facts.messages_tuple_types = [...new Set(tuples.map((p) => p.data[0].type))].sort();
facts.messages_ids_are_text = tuples.every((p) => typeof p.data[0].id === "string");

// The thread while it waits.
const waiting = await client.threads.get(thread.thread_id);
facts.waiting_thread_status = waiting.status;
facts.waiting_thread_interrupts_keyed_by_task = Object.values(waiting.interrupts ?? {}).every((list) => Array.isArray(list) && list.every((i) => "id" in i && "value" in i));
const state = await client.threads.getState(thread.thread_id);
facts.waiting_state_next = state.next;
facts.waiting_state_task_interrupts = state.tasks.map((t) => t.interrupts.length);
facts.waiting_state_keys = keys(state);
facts.waiting_state_checkpoint_keys = keys(state.checkpoint).filter((k) => k !== "checkpoint_map");
facts.waiting_values_have_messages = Array.isArray(state.values.messages);

// Answers at an interrupt, and the run that gave it.
const result = await client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: "dental" } });
facts.wait_at_interrupt_keys = keys(result);
const runs = await client.runs.list(thread.thread_id);
facts.runs_newest_first_statuses = runs.map((r) => r.status);
facts.run_keys = keys(runs[0]).filter((k) => !["kwargs"].includes(k));
facts.cancel_a_finished_run = await status(client.runs.cancel(thread.thread_id, runs[0].run_id));
facts.finished_run_status_after_cancel = (await client.runs.get(thread.thread_id, runs[0].run_id)).status;

// To the end.
for (const answer of ["2026-12-03", "afternoon", true, false]) {
  await client.runs.wait(thread.thread_id, APPOINTMENTS, { command: { resume: answer } });
}
const done = await client.threads.get(thread.thread_id);
facts.finished_thread_status = done.status;
facts.finished_values_last_message_type = done.values.messages.at(-1).type;
const history = await client.threads.getHistory(thread.thread_id, { limit: 100 });
facts.history_linked_newest_first = history.every((s, i) => i === history.length - 1
  ? s.parent_checkpoint == null || !history.some((o) => o.checkpoint.checkpoint_id === s.parent_checkpoint.checkpoint_id)
  : s.parent_checkpoint?.checkpoint_id === history[i + 1].checkpoint.checkpoint_id);
facts.history_newest_has_no_next = history[0].next.length === 0;
facts.search_by_metadata_finds_it = (await client.threads.search({ metadata: { compared: "yes" }, limit: 100 })).some((t) => t.thread_id === thread.thread_id);

// A busy thread.
const busy = await client.threads.create();
await client.runs.wait(busy.thread_id, LOOKUP, { input: {} });
const running = await client.runs.create(busy.thread_id, LOOKUP, { command: { resume: "life" } });
facts.background_run_status = running.status;
await new Promise((resolve) => setTimeout(resolve, 300));
facts.busy_thread_status = (await client.threads.get(busy.thread_id)).status;
facts.busy_run_status = (await client.runs.get(busy.thread_id, running.run_id)).status;
facts.reject_on_busy = await status(client.runs.create(busy.thread_id, LOOKUP, { command: { resume: "again" }, multitaskStrategy: "reject" }));
const queued = await client.runs.create(busy.thread_id, LOOKUP, { command: { resume: "again" }, multitaskStrategy: "enqueue" });
facts.enqueued_run_status = queued.status;
facts.join_at_interrupt_keys = keys(await client.runs.join(busy.thread_id, running.run_id));
await client.runs.join(busy.thread_id, queued.run_id);
facts.runs_after_queue = (await client.runs.list(busy.thread_id)).map((r) => r.status);

// A stream left and joined again.
let runId;
let lastEventId;
const controller = new AbortController();
try {
  for await (const part of client.runs.stream(busy.thread_id, LOOKUP, { command: { resume: "more" }, streamMode: ["updates"], streamResumable: true, signal: controller.signal, onRunCreated: (r) => { runId = r.run_id; } })) {
    lastEventId = part.id ?? lastEventId;
    if (part.event === "updates") controller.abort();
  }
} catch {}
const rest = await collect(client.runs.joinStream(busy.thread_id, runId, { lastEventId, streamMode: ["updates"] }));
facts.rejoin_sends_the_rest = rest.some((p) => p.event === "updates" && "tell" in p.data);
facts.rejoin_event_names = [...new Set(rest.map((p) => p.event))].sort();

const joined = await collect(client.runs.joinStream(busy.thread_id, runId, { streamMode: ["updates"] }));
facts.join_finished_run_event_names = [...new Set(joined.map((p) => p.event))].sort();
const replayed = await collect(client.runs.joinStream(busy.thread_id, runId, { lastEventId: "-1", streamMode: ["updates"] }));
facts.join_from_the_start_event_names = [...new Set(replayed.map((p) => p.event))].sort();

console.log(JSON.stringify(facts, null, 1));
slowApi?.close();
