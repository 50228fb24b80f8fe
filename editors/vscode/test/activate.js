// Activate extension.js outside VS Code, with stand-ins for the `vscode` API and the language
// client, and print as JSON what it asked for: the server command, its arguments, the
// documents it serves and whether it started the client. Usage: node test/activate.js
"use strict";
const Module = require("module");
const path = require("path");

const seen = { started: false, stopped: false };
const fakes = {
  vscode: {
    workspace: { getConfiguration: () => ({ get: (key, fallback) => fallback }) },
    window: { showErrorMessage: (text) => { seen.error = text; } },
  },
  "vscode-languageclient/node": {
    TransportKind: { stdio: 0 },
    LanguageClient: class {
      constructor(id, name, server, client) {
        Object.assign(seen, { id, server, selector: client.documentSelector });
      }
      start() { seen.started = true; return Promise.resolve(); }
      stop() { seen.stopped = true; return Promise.resolve(); }
    },
  },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  return request in fakes ? fakes[request] : load.call(this, request, ...rest);
};

const extension = require(path.resolve(__dirname, "..", "extension.js"));
const context = { subscriptions: [] };
extension.activate(context);
Promise.resolve(extension.deactivate()).then(() => {
  seen.subscriptions = context.subscriptions.length;
  process.stdout.write(JSON.stringify(seen));
});
