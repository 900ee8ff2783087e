// What the client tests stand in with, on loopback, for what the machine cannot reach, and the workflows that use them.

// An OpenAI-compatible model, standing in for one the machine cannot reach: it answers
// `You said: <the last user message>` (or a greeting), streamed word by word with a pause between words when asked to
// stream, so that a client sees the reply arrive in pieces.
import { createServer } from "node:http";

export async function startLoopbackModel() {
  const server = createServer(async (request, response) => {
    let body = "";
    for await (const chunk of request) body += chunk;
    const asked = JSON.parse(body);
    const last = [...asked.messages].reverse().find((m) => m.role === "user")?.content ?? "";
    const reply = last.length === 0 ? "Hello! What would you like to talk about?" : `You said: ${last}`;
    const usage = { prompt_tokens: 10, completion_tokens: reply.split(" ").length, total_tokens: 10 + reply.split(" ").length };
    if (!asked.stream) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ id: "loopback", object: "chat.completion", created: 1, model: asked.model, choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }], usage }));
      return;
    }

    response.writeHead(200, { "content-type": "text/event-stream" });
    const words = reply.split(" ");
    for (let i = 0; i < words.length; i++) {
      const delta = { role: "assistant", content: (i === 0 ? "" : " ") + words[i] };
      response.write(`data: ${JSON.stringify({ id: "loopback", object: "chat.completion.chunk", created: 1, model: asked.model, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    response.write(`data: ${JSON.stringify({ id: "loopback", object: "chat.completion.chunk", created: 1, model: asked.model, choices: [], usage })}\n\n`);
    response.end("data: [DONE]\n\n");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/v1`, close: () => server.close() };
}

/** A workflow whose replies a model writes: it greets, then answers whatever the person says, for ever. */
export function chattyWorkflow(modelUrl) {
  return {
    name: "Chatty model",
    start: "greet",
    variables: { said: null },
    nodes: [
      { id: "greet", type: "llm", mode: "say", base_url: modelUrl, model: "loopback", messages: [{ role: "system", content: "Be brief." }], next: "listen" },
      { id: "listen", type: "ask", prompt: "", variable: "said", input: { kind: "text" }, next: "answer" },
      { id: "answer", type: "llm", mode: "say", base_url: modelUrl, model: "loopback", messages: [{ role: "system", content: "Be brief." }], include_history: true, next: "listen" },
    ],
  };
}

/** An API that answers `{ answer: "42" }` after 1.5 s, so that a turn calling it is still running while a test acts. */
export async function startSlowApi() {
  const server = createServer((_, response) => setTimeout(() => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ answer: "42" }));
  }, 1500));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/** A workflow that greets, asks what to look up, calls the slow API, tells the answer, and asks again, for ever. */
export function slowLookupWorkflow(apiUrl) {
  return {
    name: "Slow lookup",
    start: "greet",
    variables: { topic: null, answer: null },
    nodes: [
      { id: "greet", type: "say", text: "Hello {{last_user_message}}.", next: "ask_topic" },
      { id: "ask_topic", type: "ask", prompt: "What shall I look up?", variable: "topic", input: { kind: "text" }, next: "lookup" },
      { id: "lookup", type: "http_request", url: apiUrl, timeout_seconds: 30, response: { answer: "answer" }, next: "tell" },
      { id: "tell", type: "say", text: "{{topic}}: {{answer}}", next: "ask_topic" },
    ],
  };
}

/** Uploads a workflow to a Sessions server; its id. */
export async function upload(serverUrl, key, definition) {
  const response = await fetch(`${serverUrl}/v1/workflows`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(definition),
  });
  if (response.status !== 201) throw new Error(`upload: ${response.status} ${await response.text()}`);
  return (await response.json()).workflow_id;
}
