// Lint one BPMN diagram with bpmnlint (installed from npm, pinned in package-lock.json).
// Usage: node lint.cjs NODE_MODULES_DIR CONFIG_JSON < diagram.bpmn
// Prints {"issues": [{element, rule, category, message}]} or {"error": message} (exit code 0 either way;
// anything else, e.g. a missing package, exits non-zero and the caller reports it).
"use strict";
const path = require("path");
const fs = require("fs");

const modules = process.argv[2];
const config = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const requireHere = require("module").createRequire(path.join(path.resolve(modules), "index.js"));
const { Linter } = requireHere("bpmnlint");
const NodeResolver = requireHere("bpmnlint/lib/resolver/node-resolver");
const { BpmnModdle } = requireHere("bpmn-moddle");

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

async function main() {
  const xml = await readStdin();
  let root;
  try {
    root = (await new BpmnModdle().fromXML(xml, "bpmn:Definitions")).rootElement;
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: error.message }));
    return;
  }
  const linter = new Linter({ config, resolver: new NodeResolver({ require: requireHere }) });
  const reports = await linter.lint(root);
  const issues = [];
  for (const rule of Object.keys(reports).sort()) {
    for (const report of reports[rule]) {
      issues.push({ element: report.id || "", rule, category: report.category, message: report.message });
    }
  }
  process.stdout.write(JSON.stringify({ issues }));
}

main().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
