// The benchmark's peer: the bench conversation (ask a name, ask a topic, end) as a LangGraph.js graph with
// interrupt() and Command({ resume }), checkpointed by LangGraph's official SqliteSaver or PostgresSaver, behind a
// small HTTP server that speaks the same execute request as Sessions so that one load driver measures both.
//   node server.mjs <port> sqlite <file>        (WAL, synchronous as named by SYNCHRONOUS, default NORMAL)
//   node server.mjs <port> postgres <connection string>
import http from "node:http";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { Annotation, Command, END, START, StateGraph, interrupt } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";

const [port, store, where] = process.argv.slice(2);

let checkpointer;
if (store === "sqlite") {
  const db = new Database(where);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${process.env.SYNCHRONOUS ?? "NORMAL"}`);
  checkpointer = new SqliteSaver(db);
} else {
  checkpointer = PostgresSaver.fromConnString(where);
  await checkpointer.setup();
}

const State = Annotation.Root({
  name: Annotation(),
  topic: Annotation(),
  turn: Annotation({ reducer: (a, b) => a + b, default: () => 0 }),
  output: Annotation(),
});

const graph = new StateGraph(State)
  .addNode("ask_name", () => ({ name: interrupt({ prompt: "Your name?" }) }))
  .addNode("ask_topic", (s) => ({ topic: interrupt({ prompt: `Hello ${s.name}, what about?` }) }))
  .addNode("done", (s) => ({ output: `${s.name}: ${s.topic}` }))
  .addEdge(START, "ask_name")
  .addEdge("ask_name", "ask_topic")
  .addEdge("ask_topic", "done")
  .addEdge("done", END)
  .compile({ checkpointer });

async function execute(body) {
  const runId = body.run_id ?? randomBytes(12).toString("hex");
  const config = { configurable: { thread_id: runId } };
  const input = body.run_id ? new Command({ resume: body.run_input?.user_message }) : { turn: 0 };
  const result = await graph.invoke(input, config);
  const waiting = result.__interrupt__?.[0];
  return {
    run_id: runId,
    status: waiting ? "waiting_for_user_input" : "completed",
    output: waiting ? null : result.output,
    next_input_hint: waiting ? waiting.value : null,
  };
}

http.createServer((request, response) => {
  if (request.method !== "POST" || !/^\/v1\/workflows\/[^/]+\/execute$/.test(request.url)) {
    response.writeHead(request.url === "/alive" ? 200 : 404).end();
    return;
  }

  const chunks = [];
  request.on("data", (c) => chunks.push(c));
  request.on("end", async () => {
    try {
      const answer = JSON.stringify(await execute(JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}")));
      response.writeHead(200, { "content-type": "application/json" }).end(answer);
    } catch (error) {
      response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: String(error) }));
    }
  });
}).listen(Number(port), "127.0.0.1", () => console.log(`LangGraph peer (${store}) on 127.0.0.1:${port}`));
