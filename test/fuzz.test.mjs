// The config fuzz target (test/fuzz/config.fuzz.js): what the fuzzer once found stays fixed (the inputs in
// test/fixtures/fuzz are replayed), and a bounded run of the coverage-guided fuzzer finds nothing new.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { repo } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { fuzz } = require(path.join(repo, 'test', 'fuzz', 'config.fuzz.js'));

t.test('every input the fuzzer found is refused cleanly now', async (t) => {
  const dir = path.join(repo, 'test', 'fixtures', 'fuzz');
  const inputs = fs.readdirSync(dir);
  t.ok(inputs.length > 0);
  for (const f of inputs) t.doesNotThrow(() => fuzz(fs.readFileSync(path.join(dir, f))), f);
});

t.test('a minute of fuzzing: no crash, no hang, no uncaught exception', { timeout: 110_000 }, async (t) => {
  const seconds = Number(process.env.OCIRUN_FUZZ_SECONDS ?? 60);
  const r = spawnSync('bash', [path.join(repo, 'scripts', 'fuzz.sh'), String(seconds)], { encoding: 'utf8', timeout: (seconds + 40) * 1000 });
  t.comment(r.stdout.trim().split('\n')[0]);
  t.equal(r.status, 0, r.stdout + r.stderr);
});
