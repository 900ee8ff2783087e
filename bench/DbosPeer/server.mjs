// The benchmark's DBOS Transact peer: the bench conversation (ask a name, ask a topic, end) as one durable DBOS workflow
// per run on PostgreSQL. The workflow does each turn's step (DBOS.runStep), publishes the turn's answer with
// DBOS.setEvent and waits for the reply with DBOS.recv; a reply is sent with DBOS.send under an idempotency key (the run
// and the turn it answers), so a retried reply is delivered once. Behind a small HTTP server that speaks the same
// execute request as Sessions, so that one load driver measures both.
//   node server.mjs <port> <postgresql:// connection URL of the (empty) system database>
import http from "node:http";
import { randomBytes } from "node:crypto";
import { DBOS } from "@dbos-inc/dbos-sdk";

const [port, database] = process.argv.slice(2);
const WAIT_SECONDS = 3600;

async function conversation() {
  await DBOS.setEvent("turn-1", { status: "waiting_for_user_input", output: null, next_input_hint: { prompt: "Your name?" } });
  const name = await DBOS.recv("reply", WAIT_SECONDS);
  const asked = await DBOS.runStep(async () => `Hello ${name}, what about?`, { name: "greet" });
  await DBOS.setEvent("turn-2", { status: "waiting_for_user_input", output: null, next_input_hint: { prompt: asked } });
  const topic = await DBOS.recv("reply", WAIT_SECONDS);
  const output = await DBOS.runStep(async () => `${name}: ${topic}`, { name: "note" });
  await DBOS.setEvent("turn-3", { status: "completed", output, next_input_hint: null });
  return output;
}

const workflow = DBOS.registerWorkflow(conversation, { name: "bench-conversation" });

DBOS.setConfig({ name: "sessions-bench", systemDatabaseUrl: database, logLevel: "error" });
await DBOS.launch();

// The turn each run is at, as this server last answered it: the load driver sends no turn numbers.
const turns = new Map();

async function execute(body) {
  let runId = body.run_id;
  let turn;
  if (runId === undefined) {
    runId = randomBytes(12).toString("hex");
    turn = 1;
    await DBOS.startWorkflow(workflow, { workflowID: runId })();
  } else {
    turn = (turns.get(runId) ?? 1) + 1;
    await DBOS.send(runId, body.run_input?.user_message ?? "", "reply", `${runId}:${turn}`);
  }

  const answer = await DBOS.getEvent(runId, `turn-${turn}`, 60);
  if (answer === null) throw new Error(`run ${runId} did not answer turn ${turn}`);
  if (answer.status === "completed") turns.delete(runId);
  else turns.set(runId, turn);
  return { run_id: runId, ...answer };
}

http.createServer((request, response) => {
  if (request.method !== "POST" || !/^\/v1\/workflows\/[^/]+\/execute$/.test(request.url)) {
    response.writeHead(request.url === "/alive" ? 200 : 404).end();
    return;
  }

  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", async () => {
    try {
      const answer = JSON.stringify(await execute(JSON.parse(Buffer.concat(chunks).toString() || "{}")));
      response.writeHead(200, { "Content-Type": "application/json" }).end(answer);
    } catch (error) {
      response.writeHead(500, { "Content-Type": "application/json" }).end(JSON.stringify({ error: String(error) }));
    }
  });
}).listen(Number(port), "127.0.0.1");
