// Compiles spec/config.schema.json into a standalone validator module (dist/config/validate-config.js), so the
// CLI validates a config without loading or compiling ajv at run time.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Ajv = require('ajv');
const standalone = require('ajv/dist/standalone').default;

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'dist', 'config');
fs.mkdirSync(outDir, { recursive: true });
for (const name of ['config']) {
  const schema = JSON.parse(fs.readFileSync(path.join(root, 'spec', `${name}.schema.json`), 'utf8'));
  const ajv = new Ajv({ code: { source: true }, strict: true, allErrors: false });
  const validate = ajv.compile(schema);
  fs.writeFileSync(path.join(outDir, `validate-${name}.js`), standalone(ajv, validate));
}
