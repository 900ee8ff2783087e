// Sessions console: runs list, run page (transcript, timeline, fork, replay), workflows (versions, diagrams, uploads,
// evaluations), two runs side by side, and a chat playground.
// Plain DOM and fetch against the server's own API; no dependencies, so it works without internet access.
"use strict";

const STATUSES = ["waiting_for_user_input", "paused", "completed", "failed", "cancelled", "aborted_looping_risk", "running", "started", "not_started"];
const view = document.getElementById("view");

// --- small helpers -------------------------------------------------------------------------------

/** Builds an element: el("td", { class: "x" }, "text", child). Text is always set as text, never as HTML. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// With API keys or an issuer configured the console asks for a key or a token when the server answers 401 (saying
// why the last one was refused, such as an expired token), and keeps it for this tab only.
function headers() {
  const key = sessionStorage.getItem("sessions-api-key");
  return key ? { "Content-Type": "application/json", Authorization: `Bearer ${key}` } : { "Content-Type": "application/json" };
}

async function send(path, options = {}) {
  let response = await fetch(path, { ...options, headers: headers() });
  if (response.status === 401) {
    const refused = sessionStorage.getItem("sessions-api-key") ? (await response.clone().json().catch(() => null))?.detail : null;
    const key = window.prompt(`${refused ? `${refused}\n` : ""}This server needs an API key or a sign-in token (JWT):`);
    if (key) {
      sessionStorage.setItem("sessions-api-key", key.trim());
      response = await fetch(path, { ...options, headers: headers() });
    }
  }
  return response;
}

async function api(path, options = {}) {
  const response = await send(path, options);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(body?.detail ?? response.statusText);
    error.problem = body;
    throw error;
  }
  return body;
}

const statusBadge = (status) => el("span", { class: `status ${status}`, "data-testid": "status" }, status);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
// Absent parts (null) are left out: replaceChildren would show them as the text "null". A page shows only while the
// address is still the one it was built for (`hash`): a slow page asked for before the last navigation must not
// replace the page that navigation showed.
const show = (hash, ...nodes) => {
  if (hash === location.hash) view.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
};

// A page that cannot be shown replaces the previous one, so nothing on screen belongs to another run.
function showError(hash, error) {
  show(hash, el("p", { class: "error", role: "alert", "data-testid": "page-error" }, error.message), el("p", {}, el("a", { href: "#/runs" }, "Back to the runs")));
}

/** A workflow as people tell them apart: name, the end of its id, and its active version. */
const workflowLabel = (w) => `${w.name} · …${w.workflow_id.slice(-6)} · v${w.active_version}`;

const TERMINAL = ["completed", "failed", "cancelled", "aborted_looping_risk"];

// --- routing -------------------------------------------------------------------------------------

async function route() {
  const hash = location.hash;
  const [, page, id] = hash.split("/");
  try {
    if (page === "runs" && id) await runPage(id);
    else if (page === "compare" && id) await comparePage(id, hash.split("/")[3]);
    else if (page === "workflows" && id) await workflowPage(id.split("?")[0]);
    else if (page === "workflows") await workflowsPage();
    else if (page === "play") await playground();
    else await runsPage();
  } catch (error) {
    showError(hash, error);
  }
}
window.addEventListener("hashchange", route);

// --- runs list -----------------------------------------------------------------------------------

async function runsPage() {
  const hash = location.hash;
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const workflows = (await api("/v1/workflows?limit=100")).items;
  const page = Number(params.get("page") ?? 1);

  const filters = el("form", { class: "card filters", "data-testid": "run-filters" },
    el("label", {}, "Workflow", el("select", { name: "workflow_id" },
      el("option", { value: "" }, "All"),
      workflows.map((w) => el("option", { value: w.workflow_id, selected: params.get("workflow_id") === w.workflow_id }, workflowLabel(w))))),
    el("label", {}, "Status", el("select", { name: "status" },
      el("option", { value: "" }, "Any"),
      STATUSES.map((s) => el("option", { value: s, selected: params.get("status") === s }, s)))),
    el("label", {}, "Started by", el("input", { name: "run_by", value: params.get("run_by") ?? "", placeholder: "run_by" })),
    el("label", {}, "Workflow name", el("input", { name: "q", value: params.get("q") ?? "", placeholder: "contains" })),
    el("label", {}, "Created after", el("input", { name: "created_after", type: "datetime-local", value: params.get("created_after") ?? "" })),
    el("label", {}, "Created before", el("input", { name: "created_before", type: "datetime-local", value: params.get("created_before") ?? "" })),
    el("button", { type: "submit" }, "Filter"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const [name, value] of new FormData(filters)) if (value) chosen.set(name, value);
    location.hash = `#/runs?${chosen}`;
  });

  const query = new URLSearchParams({ page, limit: 20 });
  for (const name of ["workflow_id", "status", "run_by", "q"]) if (params.get(name)) query.set(name, params.get(name));
  for (const name of ["created_after", "created_before"]) if (params.get(name)) query.set(name, new Date(params.get(name)).toISOString());
  const [runs, stats] = await Promise.all([
    api(`/v1/runs?${query}`),
    api(`/v1/runs/stats?${new URLSearchParams([...query].filter(([name]) => name !== "page" && name !== "limit"))}`),
  ]);

  const counts = el("div", { class: "counts", "data-testid": "status-counts" },
    el("span", {}, `total ${stats.total}`),
    Object.entries(stats.counts).filter(([, n]) => n > 0).map(([status, n]) => el("span", {}, statusBadge(status), ` ${n}`)));

  const rows = runs.items.map((run) => el("tr", { "data-testid": "run-row" },
    el("td", {}, el("a", { href: `#/runs/${run.run_id}`, class: "mono" }, run.run_id)),
    el("td", {}, run.workflow_name, el("span", { class: "mono" }, ` v${run.version_number}`)),
    el("td", {}, statusBadge(run.status)),
    el("td", {}, run.turn_number),
    el("td", {}, run.run_by ?? ""),
    el("td", {}, run.origin ? `${run.origin} of ` : "", run.source_run_id ? el("a", { href: `#/runs/${run.source_run_id}`, class: "mono" }, run.source_run_id.slice(-6)) : ""),
    el("td", {}, when(run.created_at))));

  const pages = Math.max(1, Math.ceil(runs.total / runs.limit));
  const goto = (n) => { params.set("page", n); location.hash = `#/runs?${params}`; };
  show(hash,
    el("h1", {}, "Runs"),
    filters,
    counts,
    el("table", { "data-testid": "runs-table" },
      el("thead", {}, el("tr", {}, ["Run", "Workflow", "Status", "Turns", "Started by", "Origin", "Created"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 7 }, "No runs match.")))),
    el("div", { class: "pager" },
      el("button", { class: "secondary", disabled: page <= 1, onclick: () => goto(page - 1) }, "Previous"),
      `Page ${page} of ${pages} (${runs.total} runs)`,
      el("button", { class: "secondary", disabled: page >= pages, onclick: () => goto(page + 1) }, "Next")));
}

// --- run page ------------------------------------------------------------------------------------

async function runPage(runId) {
  const hash = location.hash;
  const [run, transcript] = await Promise.all([api(`/v1/runs/${runId}`), api(`/v1/runs/${runId}/transcript`)]);
  // A deleted workflow is not read back, but its runs are: they show without it.
  const workflow = await api(`/v1/workflows/${run.workflow_id}`).catch(() => ({ versions: [] }));
  // The run's answer holds its first page of turns; the rest are read page by page.
  const allTurns = [...run.turns];
  for (let next = run.next_turns; next; ) {
    const page = await api(next);
    allTurns.push(...page.turns);
    next = page.next;
  }
  const eventsByTurn = new Map(allTurns.map((t) => [t.turn_number, t.events]));
  const finishedAfter = new Map(allTurns.map((t) => [t.turn_number, TERMINAL.includes(t.output.status)]));
  const reload = () => runPage(runId);

  const report = el("div", { "data-testid": "replay-report" });
  const versionSelect = el("select", { "data-testid": "replay-version" },
    workflow.versions.map((v) => el("option", { value: v.version_number, selected: v.is_active }, `v${v.version_number}${v.is_active ? " (active)" : ""}`)));
  const replayButton = el("button", { "data-testid": "replay", onclick: async () => {
    replayButton.disabled = true;
    try {
      const result = await api(`/v1/runs/${runId}/replay`, { method: "POST", body: JSON.stringify({ version_number: Number(versionSelect.value) }) });
      report.replaceChildren(replayReport(result));
    } catch (error) {
      report.replaceChildren(el("p", { class: "error" }, error.message));
    } finally {
      replayButton.disabled = false;
    }
  } }, "Replay");

  const turns = transcript.turns.map((turn) => el("section", { class: "turn", "data-testid": "transcript-turn" },
    el("h3", {}, `Turn ${turn.turn_number}`, el("small", { class: "mono" }, when(turn.at)), turn.command && turn.command !== "start" ? el("code", {}, turn.command) : null,
      finishedAfter.get(turn.turn_number) ? null : el("button", { class: "secondary", "data-testid": "fork", onclick: () => fork(runId, turn.turn_number) }, "Fork here")),
    turn.lines.map((line) => el("div", { class: `line ${line.role} ${line.kind}` }, line.role === "user" ? `User: ${line.text}` : line.text)),
    el("div", { class: "timeline", "data-testid": "timeline" },
      (eventsByTurn.get(turn.turn_number) ?? []).map((e) => el("span", { title: `seq ${e.seq} at ${e.timestamp}` }, `${e.seq} ${e.type}${e.node_id ? ` · ${e.node_id}` : ""}`))),
    turnState(runId, turn.turn_number)));

  show(hash,
    el("h1", {}, el("a", { href: `#/workflows/${run.workflow_id}`, "data-testid": "workflow-link" }, run.workflow_name), " ", el("span", { class: "mono" }, run.run_id), " ", statusBadge(run.status)),
    el("div", { class: "card" },
      el("div", { "data-testid": "run-summary" }, `Workflow …${run.workflow_id.slice(-6)} version ${run.version_number} · ${allTurns.length} ${allTurns.length === 1 ? "turn" : "turns"}, at turn ${run.turn_number} · started ${when(run.created_at)}`, run.run_by ? ` by ${run.run_by}` : ""),
      run.source_run_id ? el("div", {}, `${run.origin} of `, el("a", { href: `#/runs/${run.source_run_id}`, class: "mono" }, run.source_run_id),
        run.checkpoint_source_turn_index !== null ? ` at turn ${run.checkpoint_source_turn_index}` : "") : null,
      run.error ? el("div", { class: "error" }, run.error) : null,
      el("div", {}, el("a", { href: `/v1/runs/${runId}/transcript?format=markdown`, "data-testid": "markdown" }, "Transcript as Markdown"))),
    runActions(run, reload),
    run.origin === "fork"
      ? el("p", { class: "card" }, "A fork began from another run's checkpoint, so it cannot be replayed; replay ", el("a", { href: `#/runs/${run.source_run_id}`, class: "mono" }, run.source_run_id), ".")
      : el("div", { class: "card filters" }, el("label", {}, "Replay against", versionSelect), replayButton),
    report,
    el("h2", {}, "Transcript"),
    el("div", { class: "card", "data-testid": "transcript" }, turns),
    el("h2", {}, "Variables"),
    el("pre", { class: "card mono" }, JSON.stringify(run.variables, null, 2)),
    el("h2", {}, `Workflow, version ${run.version_number}`),
    await diagram(run, allTurns));
}

/**
 * What support staff can do to a run that is still going: answer the question it waits on (with the same controls as
 * the playground), resume it when paused, stop it, or cancel it with a reason. Each action names the turn it was
 * made against, so one taken on a run that moved on meanwhile is refused, not applied to the wrong state.
 */
function runActions(run, reload) {
  if (TERMINAL.includes(run.status)) return null;
  const problem = el("p", { class: "error", "data-testid": "action-error" });
  const act = async (runInput) => {
    try {
      await api(`/v1/workflows/${run.workflow_id}/execute`, {
        method: "POST",
        body: JSON.stringify({ run_id: run.run_id, expected_turn: run.turn_number, run_input: { run_by: run.run_by ?? undefined, ...runInput } }),
      });
      await reload();
    } catch (error) {
      problem.textContent = error.message;
    }
  };
  const reason = el("input", { "data-testid": "cancel-reason", placeholder: "reason (recorded on the run)" });
  const cancel = async () => {
    try {
      await api("/v1/runs/cancel", { method: "POST", body: JSON.stringify({ run_ids: [run.run_id], reason: reason.value || undefined }) });
      await reload();
    } catch (error) {
      problem.textContent = error.message;
    }
  };
  const hint = run.next_input_hint;
  return el("div", { class: "card", "data-testid": "run-actions" },
    hint ? el("div", {}, "Waiting for an answer to: ", el("strong", { "data-testid": "waiting-prompt" }, hint.prompt), " ", inputRule(hint.input)) : null,
    el("div", { class: "answer" },
      hint ? answerControls(hint, (text) => act({ user_message: text })) : null,
      run.status === "paused" ? el("button", { "data-testid": "run-resume", onclick: () => act({ command: "resume" }) }, "Resume") : null,
      el("button", { class: "secondary", "data-testid": "run-stop", onclick: () => act({ command: "stop" }) }, "Stop")),
    el("div", { class: "filters" }, reason, el("button", { class: "secondary", "data-testid": "run-cancel", onclick: cancel }, "Cancel with reason")),
    problem);
}

/** The reply a hint accepts, in words: never a raw pattern. */
function inputRule(input) {
  if (!input) return "";
  if (input.kind === "choice") return `(one of: ${input.options.map((o) => o.label ?? o.value).join(", ")})`;
  if (input.kind === "boolean") return "(yes or no)";
  if (input.kind === "number" || input.kind === "integer") {
    const range = [input.min !== undefined ? `at least ${input.min}` : null, input.max !== undefined ? `at most ${input.max}` : null].filter(Boolean).join(", ");
    return `(${input.kind === "integer" ? "a whole number" : "a number"}${range ? `, ${range}` : ""})`;
  }
  const length = [input.min_length !== undefined ? `at least ${input.min_length}` : null, input.max_length !== undefined ? `at most ${input.max_length}` : null].filter(Boolean).join(", ");
  return length ? `(text, ${length} characters)` : "";
}

/** Controls for answering a hint: a button per choice, yes/no, or a box checked before it is sent. */
function answerControls(hint, send) {
  const input = hint.input;
  if (input.kind === "choice") {
    return input.options.map((o) => el("button", { "data-testid": "choice", onclick: () => send(String(o.value)) }, o.label ?? String(o.value)));
  }
  if (input.kind === "boolean") {
    return [el("button", { "data-testid": "yes", onclick: () => send("yes") }, "Yes"), el("button", { "data-testid": "no", class: "secondary", onclick: () => send("no") }, "No")];
  }
  const box = el("input", { "data-testid": "reply", placeholder: hint.prompt, inputmode: input.kind === "text" ? "text" : "decimal" });
  const problem = el("span", { class: "error", "data-testid": "reply-error" });
  const submit = () => {
    const why = checkReply(box.value, input);
    problem.textContent = why ?? "";
    if (!why) send(box.value);
  };
  box.addEventListener("keydown", (event) => { if (event.key === "Enter") submit(); });
  setTimeout(() => box.focus());
  return [box, el("button", { "data-testid": "send", onclick: submit }, "Send"), problem];
}

// What the run knew after a turn and what the turn changed, read when support staff open it.
function turnState(runId, turnNumber) {
  const body = el("div", {}, "Loading…");
  const details = el("details", { class: "turn-state", "data-testid": "turn-state" }, el("summary", {}, "State after this turn"), body);
  details.addEventListener("toggle", async () => {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = "yes";
    try {
      const turn = await api(`/v1/runs/${runId}/turns/${turnNumber}`);
      const state = turn.state_after;
      const changes = turn.variable_changes;
      const rows = changes ? [
        ...Object.entries(changes.added).map(([name, value]) => el("tr", { class: "added" }, el("td", { class: "mono" }, name), el("td", {}, "added"), el("td", { class: "mono" }, ""), el("td", { class: "mono" }, JSON.stringify(value)))),
        ...Object.entries(changes.changed).map(([name, change]) => el("tr", { class: "changed" }, el("td", { class: "mono" }, name), el("td", {}, "changed"), el("td", { class: "mono" }, JSON.stringify(change.before)), el("td", { class: "mono" }, JSON.stringify(change.after)))),
        ...Object.entries(changes.removed).map(([name, value]) => el("tr", { class: "removed" }, el("td", { class: "mono" }, name), el("td", {}, "removed"), el("td", { class: "mono" }, JSON.stringify(value)), el("td", { class: "mono" }, ""))),
      ] : [];
      body.replaceChildren(
        state ? el("div", {}, "Status ", statusBadge(state.status), state.waiting_node_id ? ` · waiting at ${state.waiting_node_id}` : "", state.error ? ` · ${state.error}` : "") : el("p", {}, "This turn was recorded before states were kept."),
        changes ? (rows.length
          ? el("table", { "data-testid": "variable-changes" }, el("tr", {}, el("th", {}, "variable"), el("th", {}, "change"), el("th", {}, "before"), el("th", {}, "after")), rows)
          : el("p", { "data-testid": "variable-changes" }, "No variable changed."))
          : null,
        state ? el("pre", { class: "mono" }, JSON.stringify(state.variables, null, 2)) : null);
    } catch (error) {
      body.replaceChildren(el("p", { class: "error" }, error.message));
    }
  });
  return details;
}

/** The run's workflow version as the server draws it, with the nodes the run went through marked, and the node it stands at. */
function diagram(run, turns) {
  const visited = new Set(turns.flatMap((t) => t.events.filter((e) => e.type === "start_node_run").map((e) => e.node_id)));
  return versionDiagram(run.workflow_id, run.version_number, visited, run.next_input_hint?.node_id ?? null);
}

/** A workflow version as the server draws it (SVG, no script). Parsed as SVG, never as HTML, and its text stays text. */
async function versionDiagram(workflowId, versionNumber, visited = new Set(), at = null) {
  const box = el("div", { class: "card diagram", "data-testid": "diagram" });
  try {
    const response = await send(`/v1/workflows/${workflowId}/versions/${versionNumber}/diagram?format=svg`);
    const svg = new DOMParser().parseFromString(await response.text(), "image/svg+xml").documentElement;
    if (svg.localName !== "svg") throw new Error("The diagram could not be read.");
    for (const node of svg.querySelectorAll("g[data-node-id]")) {
      const id = node.getAttribute("data-node-id");
      if (visited.has(id)) node.classList.add("visited");
      if (id === at) node.classList.add("current");
    }
    box.append(document.importNode(svg, true));
  } catch (error) {
    box.append(el("p", { class: "error" }, error.message));
  }
  return box;
}

// --- workflows and uploads ----------------------------------------------------------------------

/** The tenant's workflows, newest first, and a way to upload a new one. */
async function workflowsPage() {
  const hash = location.hash;
  const list = await api("/v1/workflows?limit=100");
  const rows = list.items.map((w) => el("tr", { "data-testid": "workflow-row" },
    el("td", {}, el("a", { href: `#/workflows/${w.workflow_id}` }, w.name)),
    el("td", { class: "mono" }, w.workflow_id),
    el("td", {}, `v${w.active_version}`),
    el("td", {}, el("a", { href: `#/runs?workflow_id=${w.workflow_id}` }, "runs"))));
  show(hash,
    el("h1", {}, "Workflows"),
    el("table", { class: "card", "data-testid": "workflows" }, el("thead", {}, el("tr", {}, ["Name", "Id", "Active", ""].map((h) => el("th", {}, h)))), el("tbody", {}, rows)),
    list.total > list.items.length ? el("p", {}, `The ${list.items.length} newest of ${list.total}.`) : null,
    uploadPanel("Upload a workflow", "/v1/workflows", (created) => { location.hash = `#/workflows/${created.workflow_id}`; }));
}

/**
 * A definition pasted or picked from a file, checked by the server's own validation (POST /v1/workflows/validate,
 * which stores nothing) as it changes: every error and warning is listed with its JSON path before anything is sent,
 * and the upload button stays disabled while there are errors.
 */
function uploadPanel(title, target, uploaded) {
  const text = el("textarea", { rows: 14, class: "mono", spellcheck: "false", "data-testid": "definition", placeholder: '{ "$schema": "/v1/schemas/workflow-definition.json", "name": ..., "start": ..., "nodes": [...] }' });
  const file = el("input", { type: "file", accept: ".json,application/json", "data-testid": "definition-file" });
  const problems = el("ul", { class: "problems", "data-testid": "definition-problems" });
  const verdict = el("p", { "data-testid": "definition-verdict" });
  const upload = el("button", { type: "button", disabled: true, "data-testid": "upload" }, "Upload");
  let checked = null;
  let pending = 0;

  async function check() {
    const mine = ++pending;
    checked = null;
    upload.disabled = true;
    problems.replaceChildren();
    let definition;
    try {
      definition = JSON.parse(text.value);
    } catch (error) {
      verdict.textContent = text.value.trim() ? `Not JSON: ${error.message}` : "";
      return;
    }
    try {
      const report = await api("/v1/workflows/validate", { method: "POST", body: JSON.stringify(definition) });
      if (mine !== pending) return;
      const line = (kind) => (p) => el("li", { class: kind, "data-testid": `definition-${kind}` }, el("span", { class: "mono" }, p.path), ` ${p.code}: ${p.message}`);
      problems.replaceChildren(...report.errors.map(line("error")), ...report.warnings.map(line("warning")));
      verdict.textContent = report.valid
        ? `Ready to upload${report.warnings.length ? ` (${report.warnings.length} warning${report.warnings.length === 1 ? "" : "s"})` : ""}.`
        : `${report.errors.length} error${report.errors.length === 1 ? "" : "s"} to fix before uploading.`;
      checked = report.valid ? definition : null;
      upload.disabled = !report.valid;
    } catch (error) {
      if (mine === pending) verdict.textContent = error.message;
    }
  }

  let timer = null;
  text.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 300); });
  file.addEventListener("change", async () => {
    if (file.files[0]) {
      text.value = await file.files[0].text();
      await check();
    }
  });
  upload.addEventListener("click", async () => {
    if (!checked) return;
    upload.disabled = true;
    try {
      uploaded(await api(target, { method: "POST", body: JSON.stringify(checked) }));
    } catch (error) {
      verdict.textContent = error.message;
      upload.disabled = false;
    }
  });
  return el("section", { class: "card", "data-testid": "upload-panel" }, el("h2", {}, title), file, text, verdict, problems, upload);
}

// --- a workflow ----------------------------------------------------------------------------------

/** A workflow: its versions (which is active, each one's diagram), and a way to its runs. */
async function workflowPage(workflowId) {
  const hash = location.hash;
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const workflow = await api(`/v1/workflows/${workflowId}`);
  const shown = Number(params.get("version") ?? workflow.active_version);
  const rows = workflow.versions.map((v) => el("tr", { "data-testid": "version-row", class: v.version_number === shown ? "selected" : "" },
    el("td", {}, el("a", { href: `#/workflows/${workflowId}?version=${v.version_number}` }, `v${v.version_number}`)),
    el("td", {}, v.name),
    el("td", {}, v.is_active ? "active" : ""),
    el("td", { class: "mono" }, when(v.created_at))));
  show(hash,
    el("h1", {}, workflow.name, " ", el("span", { class: "mono" }, workflow.workflow_id)),
    el("div", { class: "card" },
      workflow.description ? el("p", {}, workflow.description) : null,
      el("p", {}, `Active version v${workflow.active_version} of ${workflow.versions.length}. `,
        el("a", { href: `#/runs?workflow_id=${workflowId}`, "data-testid": "workflow-runs" }, "Runs of this workflow"))),
    el("table", { class: "card", "data-testid": "versions" }, el("thead", {}, el("tr", {}, ["Version", "Name", "", "Uploaded"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)),
    el("h2", {}, `Version ${shown}`),
    await versionDiagram(workflowId, shown),
    await evaluations(workflow, shown, params.get("evaluation")),
    uploadPanel(`Upload version ${workflow.latest_version + 1}`, `/v1/workflows/${workflowId}/versions`, (added) => { location.hash = `#/workflows/${workflowId}?version=${added.version_number}`; }));
}

// --- evaluations ---------------------------------------------------------------------------------

/**
 * The workflow's evaluations (real runs replayed with recorded calls on a version), a way to evaluate the version shown,
 * and the one chosen: its counts, the differences most runs share, and each run linked side by side with its replay.
 */
async function evaluations(workflow, version, chosen) {
  const id = workflow.workflow_id;
  const all = (await api(`/v1/workflows/${id}/evaluations`)).items;
  const limit = el("input", { type: "number", min: 1, max: 1000, value: 100, "data-testid": "evaluate-limit" });
  const sample = el("input", { type: "checkbox", "data-testid": "evaluate-sample" });
  const failure = el("span", { class: "error", "data-testid": "evaluate-error" });
  const start = el("button", { "data-testid": "evaluate", onclick: async () => {
    start.disabled = true;
    try {
      const created = await api(`/v1/workflows/${id}/versions/${version}/evaluations`, {
        method: "POST", body: JSON.stringify({ limit: Number(limit.value), sample: sample.checked }) });
      location.hash = `#/workflows/${id}?version=${version}&evaluation=${created.evaluation_id}`;
    } catch (error) {
      failure.textContent = error.message;
      start.disabled = false;
    }
  } }, `Evaluate version ${version}`);
  const rows = all.map((e) => el("tr", { "data-testid": "evaluation-row", class: e.evaluation_id === chosen ? "selected" : "" },
    el("td", {}, el("a", { href: `#/workflows/${id}?version=${e.version_number}&evaluation=${e.evaluation_id}`, class: "mono" }, e.evaluation_id.slice(-8))),
    el("td", {}, `v${e.version_number}`),
    el("td", {}, statusBadge(e.status)),
    el("td", {}, `${e.progress.completed + e.progress.failed} of ${e.progress.total}`),
    el("td", {}, e.summary ? `${e.summary.diverged_percent} % changed` : ""),
    el("td", { class: "mono" }, when(e.created_at))));
  const picked = chosen ? await evaluation(id, all.find((e) => e.evaluation_id === chosen)?.version_number ?? version, chosen) : null;
  return el("div", { "data-testid": "evaluations" },
    el("h2", {}, "Evaluations"),
    el("div", { class: "card filters" },
      el("label", {}, "Runs (newest)", limit), el("label", {}, "Random sample", sample), start, failure),
    all.length ? el("table", { class: "card" }, el("thead", {}, el("tr", {}, ["Evaluation", "Version", "Status", "Replayed", "Result", "Started"].map((h) => el("th", {}, h)))), el("tbody", {}, rows))
      : el("p", { class: "card" }, "No evaluation yet: evaluate a version to see which real conversations it changes."),
    picked);
}

/** One evaluation: its summary once finished (the page looks again while it runs), and its runs. */
async function evaluation(workflowId, version, evaluationId) {
  const e = await api(`/v1/workflows/${workflowId}/versions/${version}/evaluations/${evaluationId}?limit=500`);
  if (e.status === "running") {
    const hash = location.hash;
    setTimeout(() => { if (location.hash === hash) route(); }, 1000);
  }

  const summary = e.summary
    ? el("div", { "data-testid": "evaluation-summary" },
      el("div", { class: "counts" }, Object.entries(e.summary.counts).map(([outcome, n]) => el("span", { "data-testid": `outcome-${outcome}` }, `${outcome}: ${n}`))),
      el("p", {}, `${e.summary.diverged_percent} % of ${e.summary.replayed} replayed runs changed on version ${e.version_number}.`,
        e.summary.first_divergent_turns.length ? ` First differences at ${e.summary.first_divergent_turns.map((t) => `turn ${t.turn} (${t.runs})`).join(", ")}.` : ""),
      e.summary.differences.length
        ? el("table", { "data-testid": "difference-groups" }, el("thead", {}, el("tr", {}, ["Node", "Field", "Runs", "Example"].map((h) => el("th", {}, h)))),
          el("tbody", {}, e.summary.differences.map((d) => el("tr", { "data-testid": "difference-group" },
            el("td", { class: "mono" }, d.node_id ?? ""), el("td", {}, el("code", {}, d.field)), el("td", {}, d.runs),
            el("td", {}, el("a", { href: `#/runs/${d.example_run_id}`, class: "mono" }, d.example_run_id.slice(-8)))))))
        : null)
    : el("p", { "data-testid": "evaluation-progress" }, `Replaying: ${e.progress.completed + e.progress.failed} of ${e.progress.total} done.`);
  const results = e.results.map((r) => el("tr", { "data-testid": "evaluation-result" },
    el("td", {}, el("a", { href: `#/runs/${r.source_run_id}`, class: "mono" }, r.source_run_id.slice(-8))),
    el("td", { class: r.outcome === "unchanged" ? "same" : "diverged" }, r.outcome ?? r.status),
    el("td", {}, r.first_divergent_turn ?? ""),
    el("td", {}, r.differences.map((d) => el("div", {}, `turn ${d.turn} `, el("code", {}, d.field), d.node_id ? ` at ${d.node_id}` : ""))),
    el("td", {}, r.replay_run_id ? el("a", { href: `#/compare/${r.source_run_id}/${r.replay_run_id}`, "data-testid": "side-by-side" }, "side by side") : (r.error ?? ""))));
  return el("div", { class: "card diff", "data-testid": "evaluation" },
    el("h2", {}, `Evaluation ${e.evaluation_id} of version ${e.version_number}`), summary,
    el("table", {}, el("thead", {}, el("tr", {}, ["Source run", "Outcome", "First diverged", "Differences", "Replay"].map((h) => el("th", {}, h)))), el("tbody", {}, results)));
}

/** Two runs' transcripts turn by turn, side by side: a source run and its replay. */
async function comparePage(sourceId, replayId) {
  const hash = location.hash;
  const [source, replay] = await Promise.all([api(`/v1/runs/${sourceId}/transcript`), api(`/v1/runs/${replayId}/transcript`)]);
  const numbers = [...new Set([...source.turns, ...replay.turns].map((t) => t.turn_number))].sort((a, b) => a - b);
  const lines = (turn) => (turn?.lines ?? []).map((line) => el("div", { class: `line ${line.role} ${line.kind}` }, line.role === "user" ? `User: ${line.text}` : line.text));
  const rows = numbers.map((n) => {
    const before = source.turns.find((t) => t.turn_number === n);
    const after = replay.turns.find((t) => t.turn_number === n);
    const same = JSON.stringify(before?.lines ?? null) === JSON.stringify(after?.lines ?? null);
    return el("tr", { "data-testid": "compare-turn", class: same ? "same" : "diverged" },
      el("td", {}, `Turn ${n}`), el("td", { "data-testid": "compare-source" }, lines(before)), el("td", { "data-testid": "compare-replay" }, lines(after)));
  });
  show(hash,
    el("h1", {}, "Source and replay, side by side"),
    el("p", {}, "Source ", el("a", { href: `#/runs/${sourceId}`, class: "mono" }, sourceId), " · replay ", el("a", { href: `#/runs/${replayId}`, class: "mono" }, replayId)),
    el("table", { class: "card", "data-testid": "compare" }, el("thead", {}, el("tr", {}, ["", "Source", "Replay"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

async function fork(runId, turnNumber) {
  const result = await api(`/v1/runs/${runId}/fork`, { method: "POST", body: JSON.stringify({ turn_number: turnNumber }) });
  location.hash = `#/runs/${result.run_id}`;
}

/** What a turn's input was, in words: its reply, its command, or the start with the variables it was given. */
function turnInput(input) {
  if (input.user_message !== undefined && input.user_message !== null) return input.user_message;
  const command = (input.command ?? "start").toLowerCase();
  const variables = input.dynamic_variables && Object.keys(input.dynamic_variables).length ? ` with ${Object.entries(input.dynamic_variables).map(([k, v]) => `${k} = ${shown(v)}`).join(", ")}` : "";
  return `${command}${variables}`;
}

/** A value as people read it: text as it is, nothing as "(none)", anything else as compact JSON. */
function shown(value) {
  if (value === null || value === undefined) return "(none)";
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(" / ");
  return JSON.stringify(value);
}

function replayReport(report) {
  const summary = report.diverged
    ? el("p", { class: "diverged" }, `Diverges from turn ${report.first_divergent_turn} on version ${report.version_number}.`)
    : el("p", { class: "same" }, `No divergence on version ${report.version_number}.`);
  const rows = report.turns.map((turn) => el("tr", {},
    el("td", {}, turn.turn_number),
    el("td", { class: "mono", "data-testid": "replay-input" }, turnInput(turn.input)),
    el("td", { class: turn.diverged ? "diverged" : "same" }, turn.diverged ? "diverged" : "same"),
    el("td", {}, turn.differences.map((d) => el("div", { "data-testid": "difference" }, el("code", {}, d.field), ": ", shown(d.before), " → ", shown(d.after))),
      turn.calls.divergences.map((c) => el("div", { "data-testid": "call-divergence" }, el("code", {}, c.kind), ` at ${c.node_id} (${c.followed})`)),
      turn.cause ? el("div", { class: "muted" }, `from the ${turn.cause === "live_call" ? "live calls" : "definition"}`) : null)));
  return el("div", { class: "card diff" }, summary,
    report.stopped ? el("p", { class: "diverged", "data-testid": "replay-stopped" }, `Stopped at turn ${report.stopped.turn_number}: node ${report.stopped.call.node_id} would have called out (${report.stopped.call.kind}).`) : null,
    report.replay_run_id ? el("p", {}, "Replay run: ", el("a", { href: `#/runs/${report.replay_run_id}`, class: "mono" }, report.replay_run_id)) : null,
    el("table", {}, el("thead", {}, el("tr", {}, ["Turn", "Input", "Result", "Differences"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

// --- playground ----------------------------------------------------------------------------------

async function playground() {
  const hash = location.hash;
  const workflows = (await api("/v1/workflows?limit=100")).items;
  const picker = el("select", { "data-testid": "play-workflow" }, workflows.map((w) => el("option", { value: w.workflow_id }, workflowLabel(w))));
  const runBy = el("input", { "data-testid": "play-run-by", value: "console", placeholder: "run_by" });
  const variables = el("textarea", { "data-testid": "play-variables", rows: 2, placeholder: '{"name": "Ada"}' });
  const chat = el("div", { class: "chat card", "data-testid": "chat" });
  const answer = el("div", { class: "answer", "data-testid": "answer" });
  const events = el("ol", { class: "events card mono", "data-testid": "live-events" });
  const state = el("div", { "data-testid": "play-state" });
  let session = null;

  const say = (role, text, kind = "") => chat.append(el("div", { class: `bubble ${role} ${kind}`, "data-testid": `bubble-${role}` }, text));

  async function turn(runInput) {
    answer.replaceChildren(el("em", {}, "…"));
    const response = await send(`/v1/workflows/${session.workflowId}/execute/stream`, {
      method: "POST",
      body: JSON.stringify({ run_id: session.runId, run_input: runInput }),
    });
    if (!response.ok) {
      const problem = await response.json();
      say("system", problem.detail ?? problem.title);
      renderAnswer(session.hint);
      return;
    }
    for await (const message of readEvents(response.body)) {
      if (message.event === "ping") continue;
      const data = JSON.parse(message.data);
      if (message.event === "result") finish(data);
      else if (message.event === "error") say("system", data.detail);
      else showEvent(data);
    }
  }

  function showEvent(e) {
    events.append(el("li", {}, `${e.seq} ${e.type}${e.node_id ? ` · ${e.node_id}` : ""}`));
    events.scrollTop = events.scrollHeight;
    if (e.type === "say_static") say("assistant", e.text);
    else if (e.type === "user_messages") say("user", session.hint?.input?.options?.find((o) => String(o.value) === e.text)?.label ?? e.text);
    else if (e.type === "busy_wait_for_user_message") say("assistant", e.prompt, "prompt");
    else if (e.type === "pause_event") say("system", "Paused.");
    else if (e.type === "error" || e.type === "aborted_looping_risk") say("system", e.error);
  }

  function finish(result) {
    session.runId = result.run_id;
    session.hint = result.next_input_hint;
    state.replaceChildren("Run ", el("a", { href: `#/runs/${result.run_id}`, class: "mono", "data-testid": "play-run-link" }, result.run_id), " ", statusBadge(result.status), ` turn ${result.turn_number}`);
    if (result.is_completed) {
      say("system", `Run ${result.status}.`);
      answer.replaceChildren();
    } else if (result.status === "paused") {
      answer.replaceChildren(el("button", { "data-testid": "resume", onclick: () => turn({ command: "resume" }) }, "Resume"));
    } else {
      renderAnswer(result.next_input_hint);
    }
  }

  function renderAnswer(hint) {
    answer.replaceChildren();
    if (!hint) return;
    answer.append(...answerControls(hint, (text) => turn({ user_message: text })));
    answer.append(el("button", { class: "secondary", "data-testid": "stop", onclick: () => turn({ command: "stop" }) }, "Stop"));
  }

  const start = el("button", { "data-testid": "play-start", onclick: async () => {
    chat.replaceChildren();
    events.replaceChildren();
    let dynamic;
    try {
      dynamic = variables.value.trim() ? JSON.parse(variables.value) : undefined;
    } catch (error) {
      say("system", `The variables are not JSON: ${error.message}`);
      return;
    }
    session = { workflowId: picker.value, runId: undefined, hint: null };
    await turn({ run_by: runBy.value.trim() || undefined, dynamic_variables: dynamic });
  } }, "Start");

  show(hash,
    el("h1", {}, "Playground"),
    el("div", { class: "card filters" },
      el("label", {}, "Workflow", picker),
      el("label", {}, "Run by", runBy),
      el("label", {}, "Variables (JSON)", variables),
      start, state),
    el("div", { class: "grid" },
      el("div", {}, chat, answer),
      el("div", {}, el("h2", {}, "Live events"), events)));
}

/** Checks a reply against the hint before sending it, as the server will; returns what is wrong, or null. */
function checkReply(text, input) {
  if (input.kind === "number" || input.kind === "integer") {
    const value = Number(text.trim());
    if (text.trim() === "" || Number.isNaN(value)) return "Please enter a number.";
    if (input.kind === "integer" && !Number.isInteger(value)) return "Please enter a whole number.";
    if (input.min !== undefined && value < input.min) return `At least ${input.min}.`;
    if (input.max !== undefined && value > input.max) return `At most ${input.max}.`;
    return null;
  }
  if (input.min_length !== undefined && text.length < input.min_length) return `At least ${input.min_length} characters.`;
  if (input.max_length !== undefined && text.length > input.max_length) return `At most ${input.max_length} characters.`;
  if (input.pattern && !new RegExp(input.pattern).test(text)) return "That is not in the expected form; check it and try again.";
  return null;
}

/** Parses a text/event-stream body into { event, id, data } messages as they arrive. */
async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message = { event: null, id: null, data: "" };
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        const field = line.slice(0, colon);
        const content = line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") message.data += content;
        else if (field === "event") message.event = content;
        else if (field === "id") message.id = content;
      }
      if (message.data) yield message;
    }
  }
}

route();
