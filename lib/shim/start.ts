// What the launcher runs as containerd-shim-ocirun-v2: the shim's bundle (dist/shim.js) from its code cache.
import { startBundle } from '../cli/start';

startBundle('shim');
