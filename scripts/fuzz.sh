#!/usr/bin/env bash
# fuzz.sh [SECONDS]: the config fuzz target (test/fuzz/config.fuzz.js) under jsfuzz, a coverage-guided fuzzer,
# for SECONDS (default 60), seeded with the malformed corpus, the fuzz regressions and a valid config. Prints
# the executions run; exits 1 with the input and the error when it found a crash (or a hang past 10 s).
# Add what it finds to test/fixtures/fuzz/ once fixed: test/fuzz.test.mjs replays that directory.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
secs=${1:-60}
work=$(mktemp -d "${TMPDIR:-/tmp}/ocirun-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
node -e '
  const fs = require("fs"), path = require("path"), [out] = process.argv.slice(1);
  const cases = require("./test/fixtures/malformed/cases.json");
  cases.forEach((c, i) => fs.writeFileSync(path.join(out, `malformed-${i}.json`), JSON.stringify(c.config)));
  const spec = require("./dist/config/default-spec.js").defaultSpec();
  fs.writeFileSync(path.join(out, "valid.json"), JSON.stringify(spec));
  for (const f of fs.readdirSync("test/fixtures/fuzz")) fs.copyFileSync(path.join("test/fixtures/fuzz", f), path.join(out, f));
' "$work/corpus"
target=$(realpath --relative-to="$work" "$repo/test/fuzz/config.fuzz.js")   # jsfuzz takes it relative to its cwd
# --versifier false: its text model grows inputs without bound and runs the fuzzer itself out of memory.
set +e
(cd "$work" && timeout --signal=INT "$secs" "$repo/node_modules/.bin/jsfuzz" --versifier false --timeout 10 "$target" corpus > log 2>&1)
rc=$?   # 124: it ran until the time was up
set -e
execs=$(grep -oE '^#[0-9]+' "$work/log" | tail -1 | tr -d '#')
crashes=$(ls "$work"/crash-* "$work"/timeout-* 2>/dev/null || true)
echo "fuzz: ${execs:-0} executions in ${secs} s, corpus $(ls "$work/corpus" | wc -l) inputs"
if [ -n "$crashes" ] || [ "$rc" != 124 ]; then
  echo "fuzz: the fuzzer stopped early (status $rc)"
  for f in $crashes; do
    echo "fuzz: crash input $(basename "$f") (hex): $(xxd -p "$f" | tr -d '\n' | cut -c1-400)"
  done
  grep -vE '^#[0-9]+ ' "$work/log" | tail -30
  exit 1
fi
[ "${execs:-0}" -gt 0 ] || { echo "fuzz: the fuzzer did not run"; tail -20 "$work/log"; exit 1; }
