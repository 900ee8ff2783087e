// The AI SDK's chat client (package `ai`), unmodified: DefaultChatTransport sends what useChat sends and
// readUIMessageStream reads the answer into UI messages, against a real Sessions server's chat endpoint.
// Run by tests/Sessions.Clients.Tests with SESSIONS_URL, SESSIONS_KEY and SESSIONS_OTHER_KEY (see langgraph.test.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { DefaultChatTransport, readUIMessageStream } from "ai";
import { startLoopbackModel, chattyWorkflow, upload } from "./stand-ins.mjs";

const apiUrl = process.env.SESSIONS_URL;
const APPOINTMENTS = "66a1f0000000000000000003";

function transport(key = process.env.SESSIONS_KEY, workflowId = APPOINTMENTS) {
  return new DefaultChatTransport({ api: `${apiUrl}/v1/workflows/${workflowId}/chat`, headers: { authorization: `Bearer ${key}` } });
}

const user = (text) => ({ id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] });

/** One exchange as useChat makes it: the messages so far plus the new one, and the assistant message read back. */
async function send(chat, text, { via = transport(), trigger = "submit-message", body } = {}) {
  chat.messages.push(user(text));
  const stream = await via.sendMessages({ chatId: chat.id, messages: chat.messages, trigger, messageId: undefined, abortSignal: undefined, body });
  let message;
  for await (const update of readUIMessageStream({ stream, onError: (e) => { throw e; } })) message = update;
  chat.messages.push(message);
  return message;
}

const textOf = (message) => message.parts.filter((p) => p.type === "text").map((p) => p.text);
const hintOf = (message) => message.parts.find((p) => p.type === "data-next-input-hint")?.data;

test("a chat runs a workflow to its end, one assistant message per turn", async () => {
  const chat = { id: `chat-${crypto.randomUUID()}`, messages: [] };
  let reply = await send(chat, "Hi, I need an appointment");
  assert.equal(reply.role, "assistant");
  assert.deepEqual(textOf(reply), ["Let's book your appointment.", "Which service do you need?"]);
  const opened = await (await fetch(`${apiUrl}/v1/runs/${reply.metadata.run_id}/transcript`, { headers: { authorization: `Bearer ${process.env.SESSIONS_KEY}` } })).text();
  assert.match(opened, /Hi, I need an appointment/, "the first message is the run's first turn's message");
  assert.equal(hintOf(reply).status, "waiting_for_user_input");
  assert.deepEqual(hintOf(reply).next_input_hint.input.options.map((o) => o.value), ["checkup", "dental", "vaccine"]);
  assert.equal(reply.metadata.turn_number, 1);
  const runId = reply.metadata.run_id;
  assert.match(runId, /^[0-9a-f]{24}$/);

  // A reply that does not fit: the API call fails with the problem, and the run does not move.
  await assert.rejects(send(chat, "surgery"), (e) => e.statusCode === 422 && /invalid_reply/.test(e.responseBody) && /checkup, dental, vaccine/.test(e.responseBody));
  chat.messages.pop();

  reply = await send(chat, "dental");
  assert.deepEqual(textOf(reply), ["Which day? (YYYY-MM-DD)"]);
  assert.equal(reply.metadata.turn_number, 2);
  assert.equal(reply.metadata.run_id, runId, "the chat id names one run");
  reply = await send(chat, "2026-12-03");
  reply = await send(chat, "morning");
  assert.equal(hintOf(reply).status, "paused");
  reply = await send(chat, "", { body: { command: "resume" } });
  assert.equal(hintOf(reply).next_input_hint.input.kind, "boolean");
  reply = await send(chat, "yes");
  assert.equal(reply.metadata.status, "completed");
  assert.equal(hintOf(reply).next_input_hint, null);
  assert.match(textOf(reply).at(-1), /We'll remind you\./);

  // The same run as through execute: one history.
  const run = await (await fetch(`${apiUrl}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${process.env.SESSIONS_KEY}` } })).json();
  assert.equal(run.status, "completed");
  assert.equal(run.turn_number, 6);
  assert.equal(run.variables.service, "dental");
});

test("regenerate is refused clearly, and so is another tenant's chat", async () => {
  const chat = { id: `chat-${crypto.randomUUID()}`, messages: [] };
  const first = await send(chat, "hello");
  await assert.rejects(
    transport().sendMessages({ chatId: chat.id, messages: chat.messages, trigger: "regenerate-message", messageId: first.id }),
    (e) => e.statusCode === 422 && /not_supported/.test(e.responseBody));

  // Another tenant naming the same chat id gets a chat of its own, never this one.
  const stranger = { id: chat.id, messages: [] };
  await assert.rejects(send(stranger, "dental", { via: transport(process.env.SESSIONS_OTHER_KEY) }), (e) => e.statusCode === 404);
  const mine = await send(chat, "checkup");
  assert.deepEqual(textOf(mine), ["Which day? (YYYY-MM-DD)"]);
});

test("a chat with no turn in progress has nothing to resume", async () => {
  const chat = { id: `chat-${crypto.randomUUID()}`, messages: [] };
  await send(chat, "hello");
  assert.equal(await transport().reconnectToStream({ chatId: chat.id }), null);
});

test("a model's reply streams as text deltas of one part", async () => {
  const model = await startLoopbackModel();
  try {
    const workflowId = await upload(apiUrl, process.env.SESSIONS_KEY, chattyWorkflow(model.url));
    const chat = { id: `chat-${crypto.randomUUID()}`, messages: [] };
    const greeting = await send(chat, "", { via: transport(undefined, workflowId) });
    assert.deepEqual(textOf(greeting), ["Hello! What would you like to talk about?"]);

    chat.messages.push(user("the sea is calm today"));
    const stream = await transport(undefined, workflowId).sendMessages({ chatId: chat.id, messages: chat.messages, trigger: "submit-message" });
    const chunks = [];
    const reader = stream.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(read.value);
    const deltas = chunks.filter((c) => c.type === "text-delta");
    assert.ok(deltas.length >= 5, `the reply came in ${deltas.length} pieces`);
    assert.equal(new Set(deltas.map((d) => d.id)).size, 1, "one text part");
    assert.equal(deltas.map((d) => d.delta).join(""), "You said: the sea is calm today");
    assert.deepEqual(chunks.map((c) => c.type).filter((t) => !t.startsWith("text-")), ["start", "start-step", "data-next-input-hint", "finish-step", "finish"]);
  } finally {
    model.close();
  }
});
