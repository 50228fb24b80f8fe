// Tokenize spec files with the extension's TextMate grammar, as VS Code does (vscode-textmate
// on the Oniguruma regular expressions of vscode-oniguruma), and print one JSON object:
// {file: [[line, startColumn, endColumn, text, scopes], ...]} for every token of every file.
// Usage: node test/tokenize.js FILE...
"use strict";
const fs = require("fs");
const path = require("path");
const textmate = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const here = path.resolve(__dirname, "..");
const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));

async function main(files) {
  await oniguruma.loadWASM(wasm.buffer);
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (scope) => {
      if (scope !== "source.nnspec") return null;
      const file = path.join(here, "syntaxes", "spec.tmLanguage.json");
      return textmate.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  const grammar = await registry.loadGrammar("source.nnspec");
  const out = {};
  for (const file of files) {
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    let stack = textmate.INITIAL;
    out[file] = [];
    lines.forEach((line, number) => {
      const result = grammar.tokenizeLine(line, stack);
      for (const token of result.tokens) {
        const text = line.slice(token.startIndex, token.endIndex);
        out[file].push([number, token.startIndex, token.endIndex, text, token.scopes]);
      }
      stack = result.ruleStack;
    });
  }
  process.stdout.write(JSON.stringify(out));
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`tokenize.js: ${error.message}\n`);
  process.exit(1);
});
