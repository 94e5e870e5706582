// Versions reported by `--version`, `state` and `features`. The commit is the one the build was made from
// (scripts/bundle.js writes dist/build-info.json from git; "unknown" outside a checkout).
export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.3.0';
export const COMMIT = buildCommit();

function buildCommit(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require('./build-info.json') as { commit: string }).commit;
  } catch {
    return 'unknown';
  }
}
