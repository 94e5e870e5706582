// Versions reported by `--version`, `state` and `features`.
export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.2.1';
export const COMMIT = process.env.OCIRUN_COMMIT ?? 'unknown';
