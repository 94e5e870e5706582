// Builds an OCI image archive (image layout in a tar) from a rootfs directory, without a registry or any
// image tool: one uncompressed layer, a config, a manifest, and index.json naming it. containerd's
// `ctr image import` and podman's `load` read it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const sha = (buf) => createHash('sha256').update(buf).digest('hex');

/** Writes `out` (a .tar); `ref` names the image (e.g. localhost/ocirun-test:1); `cmd` is its default command. */
export function buildOciArchive(rootfs, out, ref, cmd = ['sh']) {
  const layout = fs.mkdtempSync(`${out}.layout-`);
  try {
    const blobs = path.join(layout, 'blobs', 'sha256');
    fs.mkdirSync(blobs, { recursive: true });
    const put = (buf) => {
      const digest = sha(buf);
      fs.writeFileSync(path.join(blobs, digest), buf);
      return { digest: `sha256:${digest}`, size: buf.length };
    };
    const layer = execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 30 });
    const layerDesc = put(layer);
    const config = put(Buffer.from(JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd, WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [layerDesc.digest] },
    })));
    const manifest = put(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layerDesc }],
    })));
    fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifest,
        annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').pop() },
      }],
    }));
    execFileSync('tar', ['-C', layout, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
  } finally {
    fs.rmSync(layout, { recursive: true, force: true });
  }
}
