// The nnspec extension: .spec files get the TextMate grammar (package.json), and a language
// client that starts `nnspec lsp` (the command and its arguments are settings) for diagnostics,
// completion, hover, go to definition and references, formatting and the outline.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const settings = vscode.workspace.getConfiguration("nnspec");
  const command = settings.get("server.command", "nnspec");
  const args = settings.get("server.args", ["lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient("nnspec", "nnspec", server, {
    documentSelector: [{ language: "nnspec" }],
  });
  client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `nnspec: cannot start '${command} ${args.join(" ")}' (${error.message}). ` +
        "Install it with: pip install 'nnspec[editor]', or set nnspec.server.command " +
        "to the nnspec of your virtual environment."
    );
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
