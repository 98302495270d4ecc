'use strict';
// Runs a generated Zapier app the way Zapier does, for tests/zapier/test_zapier_app.py.
//
//   node harness.js validate APP_DIR    -> {"core": [...], "schema": [...]}: zapier-platform-core's
//                                          `validate` command and zapier-platform-schema's errors
//   node harness.js definition APP_DIR -> the app's definition as `zapier push` would send it
//   node harness.js run APP_DIR < CALLS -> one result per call of the JSON list on stdin, each
//                                          {"method": "creates.x.operation.perform", "bundle": {...}},
//                                          run with createAppTester: {"result": ...} or {"error": {...}}
//
// Run with NODE_ENV=test so core's output checks throw (arrays, objects, ids, unique ids).
const path = require('path');
const zapier = require('zapier-platform-core');
const schema = require('zapier-platform-schema');

const [command, appDir] = process.argv.slice(2);
const app = require(path.resolve(appDir, 'index.js'));

const readStdin = () =>
  new Promise((resolve) => {
    let text = '';
    process.stdin.on('data', (chunk) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
  });

const errorOf = (error) => ({ name: error.name, message: error.message });

const main = async () => {
  if (command === 'validate') {
    const handler = zapier.createAppHandler(app);
    const core = await handler({ command: 'validate' });
    // the definition Zapier stores: functions replaced by their source, as `zapier push` sends it
    const definition = (await handler({ command: 'definition' })).results;
    const schemaErrors = schema.validateAppDefinition(definition).errors.map((e) => `${e.property} ${e.message}`);
    return { core: core.results, schema: schemaErrors };
  }
  if (command === 'definition') {
    return (await zapier.createAppHandler(app)({ command: 'definition' })).results;
  }
  if (command === 'run') {
    const calls = JSON.parse(await readStdin());
    const appTester = zapier.createAppTester(app);
    const results = [];
    for (const { method, bundle } of calls) {
      try {
        const perform = method.split('.').reduce((part, key) => part && part[key], app);
        results.push({ result: await appTester(perform, bundle) });
      } catch (error) {
        results.push({ error: errorOf(error) });
      }
    }
    return results;
  }
  throw new Error(`unknown command ${command}`);
};

main().then(
  (output) => process.stdout.write(JSON.stringify(output)),
  (error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
