// What VS Code shows for a workflow definition that names the schema in "$schema": vscode-json-languageservice is the
// library VS Code's own JSON support runs on, driven here as the editor drives it (the document's URI, its "$schema"
// resolved against that URI, the schema read from disk), so completions, hovers and problems are the editor's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";
import languageService from "vscode-json-languageservice";

const { getLanguageService, TextDocument } = languageService;

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const sampleFolder = path.join(repository, "samples", "workflows");

const service = getLanguageService({
  schemaRequestService: async (uri) => {
    assert.ok(uri.startsWith("file://"), `the editor would fetch ${uri}: only files are read here`);
    return readFile(fileURLToPath(uri), "utf8");
  },
  workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).toString() },
});
service.configure({ validate: true, allowComments: false });

/** A document as the editor holds it: its text with "|" where the cursor is, saved beside the samples. */
function open(textWithCursor, name = "draft.json") {
  const offset = textWithCursor.indexOf("|");
  const text = offset >= 0 ? textWithCursor.slice(0, offset) + textWithCursor.slice(offset + 1) : textWithCursor;
  const document = TextDocument.create(pathToFileURL(path.join(sampleFolder, name)).toString(), "json", 1, text);
  return { document, json: service.parseJSONDocument(document), position: document.positionAt(offset >= 0 ? offset : 0) };
}

const header = `"$schema": "../../docs/schemas/workflow-definition.json", "name": "Draft", "start": "a"`;

test("inside a node of a known type, the editor completes that type's fields", async () => {
  const { document, json, position } = open(`{ ${header}, "nodes": [ { "id": "a", "type": "ask", | } ] }`);
  const labels = (await service.doComplete(document, position, json)).items.map((item) => item.label.replace(/"/g, ""));
  for (const field of ["prompt", "variable", "input", "timeout_seconds", "on_timeout", "next"]) {
    assert.ok(labels.includes(field), `completion offers ${field}; it offered ${labels.join(", ")}`);
  }
  assert.ok(!labels.includes("url"), "an ask is not offered an http_request's fields");
});

test("a node's type is completed from the node types", async () => {
  const { document, json, position } = open(`{ ${header}, "nodes": [ { "id": "a", "type": | } ] }`);
  const labels = (await service.doComplete(document, position, json)).items.map((item) => item.label.replace(/"/g, ""));
  for (const type of ["say", "ask", "set", "branch", "pause", "end", "fail", "parallel", "http_request", "llm"]) {
    assert.ok(labels.includes(type), `completion offers ${type}; it offered ${labels.join(", ")}`);
  }
});

test("hovering a field shows its description", async () => {
  const text = `{ ${header}, "nodes": [ { "id": "a", "type": "ask", "prompt": "?", "variable": "x", "timeout_seconds": 60, "on_timeout": "a", "next": "a" } ] }`;
  const { document, json } = open(text);
  const hover = await service.doHover(document, document.positionAt(text.indexOf("timeout_seconds") + 3), json);
  const shown = JSON.stringify(hover?.contents ?? "");
  assert.match(shown, /How long the wait lasts/);
});

test("a misspelled field, a missing one and an unknown operator are marked as problems", async () => {
  const text = `{ ${header}, "nodes": [
    { "id": "a", "type": "ask", "promt": "?", "variable": "x", "next": "b" },
    { "id": "b", "type": "branch", "cases": [ { "when": { "var": "x", "op": "like", "value": 1 }, "next": "a" } ], "default": "a" } ] }`;
  const { document, json } = open(text);
  const problems = (await service.doValidation(document, json)).map((d) => `${document.getText(d.range)}: ${d.message}`);
  assert.ok(problems.some((p) => p.startsWith('"promt"')), `the misspelling is marked: ${problems.join(" | ")}`);
  assert.ok(problems.some((p) => /prompt/.test(p)), `the missing prompt is marked: ${problems.join(" | ")}`);
  assert.ok(problems.some((p) => p.startsWith('"like"')), `the unknown operator is marked: ${problems.join(" | ")}`);
});

test("every sample, opened in the editor, shows no problem", async () => {
  for (const name of ["order-status.json", "support-ticket.json", "appointment-booking.json", "order-assistant.json"]) {
    const { document, json } = open(await readFile(path.join(sampleFolder, name), "utf8"), name);
    const problems = await service.doValidation(document, json);
    assert.deepEqual(problems.map((d) => `${document.getText(d.range)}: ${d.message}`), [], name);
  }
});
