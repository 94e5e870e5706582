import { defaultRoot } from '../state/store';

/** Options every lifecycle verb takes. */
export interface CommonOptions {
  /** State directory; default /run/ocirun as root, $XDG_RUNTIME_DIR/ocirun otherwise. */
  root?: string;
  /** Receives warnings (a capability the kernel lacks, a failing poststart hook, ...). Default: ignored. */
  onWarning?: (msg: string) => void;
  /** Receives a line for each step taken (the CLI's --debug). Default: ignored. */
  onDebug?: (msg: string) => void;
}

export const rootOf = (o: CommonOptions | undefined) => o?.root ?? defaultRoot();
