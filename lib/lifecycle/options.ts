import { defaultRoot } from '../state/store';

/** Options every lifecycle verb takes. */
export interface CommonOptions {
  /** State directory; default /run/ocirun as root, $XDG_RUNTIME_DIR/ocirun otherwise. */
  root?: string;
}

export const rootOf = (o: CommonOptions | undefined) => o?.root ?? defaultRoot();
