// A chat page as a LangGraph frontend writes one: React 19 and the SDK's useStream hook, nothing of Sessions' own.
// The browser test bundles it with esbuild (build.mjs) and opens it with ?api=&key=&assistant= in the query.
import { useState } from "react";
import { createRoot } from "react-dom/client";
import { useStream } from "@langchain/langgraph-sdk/react";

const query = new URLSearchParams(location.search);

function Chat() {
  const [threadId, setThreadId] = useState(null);
  const [text, setText] = useState("");
  const thread = useStream({
    apiUrl: query.get("api"),
    apiKey: query.get("key"),
    assistantId: query.get("assistant"),
    threadId,
    onThreadId: setThreadId,
    messagesKey: "messages",
  });
  const waiting = thread.interrupt?.value;
  const started = threadId != null;

  const resume = (value) => thread.submit(undefined, { command: { resume: value } });
  const send = () => {
    if (started) resume(text);
    else thread.submit({ messages: [{ type: "human", content: text }] });
    setText("");
  };

  return (
    <main>
      <h1>Chat</h1>
      <p data-testid="thread">{threadId ?? "no thread yet"}</p>
      <section data-testid="messages">
        {thread.messages.map((m) => (
          <div key={m.id} data-testid="message" data-type={m.type}>
            <b>{m.type === "human" ? "You" : "Bot"}:</b> {typeof m.content === "string" ? m.content : JSON.stringify(m.content)}
          </div>
        ))}
      </section>
      {thread.isLoading && <p data-testid="loading">…</p>}
      {thread.error != null && <p data-testid="error">{String(thread.error?.message ?? thread.error)}</p>}
      {!thread.isLoading && waiting?.input?.kind === "choice" && waiting.input.options.map((o) => (
        <button key={o.value} data-testid="choice" onClick={() => resume(o.value)}>{o.label}</button>
      ))}
      {!thread.isLoading && waiting?.input?.kind === "boolean" && (
        <>
          <button data-testid="yes" onClick={() => resume(true)}>Yes</button>
          <button data-testid="no" onClick={() => resume(false)}>No</button>
        </>
      )}
      {!thread.isLoading && waiting?.paused && <button data-testid="resume" onClick={() => resume(true)}>Continue</button>}
      <p data-testid="state">{thread.isLoading ? "running" : waiting ? "waiting" : started ? "done" : "new"}</p>
      <input data-testid="reply" value={text} onChange={(e) => setText(e.target.value)} />
      <button data-testid="send" onClick={send} disabled={thread.isLoading}>Send</button>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<Chat />);
