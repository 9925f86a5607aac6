// Images out of and back into real daemons: save with every tag (and an untagged image by ID),
// verify, load into a fresh daemon, push to the rig's registry and check the digest against
// the registry itself, refuse a wrong password, and survive a save killed halfway.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveRegistryAuth, type RegistryAuth } from '../../src/config/registry-auth.js';
import { connectDocker, type DockerClient } from '../../src/docker/client.js';
import { verifyImageArchive } from '../../src/docker/image-archive.js';
import {
  HOLD_LABEL,
  imageArchiveFileName,
  listImageTags,
  loadImageArchive,
  pullImage,
  pushImage,
  registryTargetRef,
  removeHolds,
  removeTemporaryTag,
  saveImage,
  saveImages,
  tagImage,
  untaggedTargetRef,
  UploadDigestMismatch,
} from '../../src/docker/images.js';
import type { ImageRecord } from '../../src/docker/types.js';
import { OperatorError } from '../../src/errors.js';
import { NodeHost } from '../../src/host/node-host.js';
import { engine26Options } from '../rig/engine26.js';
import { buildImage, CACHE_DIR, docker, dockerTry, manifestDigestOf, REPO_ROOT, runOk, startDockerd, type DaemonHandle } from '../rig/index.js';

const rig = inject('rig');
const daemon = rig.daemon;
const P = `img-it-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), 'dmm-images-it-'));
const childBundle = join(CACHE_DIR, `images-save-child-${process.pid}.mjs`);

let client: DockerClient;
let multi: ImageRecord;
let untagged: ImageRecord;
let big: ImageRecord;
let auth: RegistryAuth;
let second: DaemonHandle | undefined;
const createdIds: string[] = [];

/** An ImageRecord as the inventory has it, read with the docker CLI (independent of the code under test). */
async function record(ref: string): Promise<ImageRecord> {
  const [info] = JSON.parse(await docker(daemon, 'image', 'inspect', ref)) as {
    Id: string;
    RepoTags: string[] | null;
    RepoDigests: string[] | null;
    Size: number;
    Created: string;
  }[];
  if (!info) throw new Error(`no image ${ref}`);
  const tags = info.RepoTags ?? [];
  return { id: info.Id, tags, repoDigests: info.RepoDigests ?? [], size: info.Size, created: info.Created, dangling: tags.length === 0 };
}

async function sha256sum(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** manifest.json read with GNU tar, not with the project's scanner. */
async function manifestOf(file: string): Promise<{ Config: string; RepoTags: string[] | null; Layers: string[] }[]> {
  return JSON.parse(await runOk('tar', ['-xOf', file, 'manifest.json'])) as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
}

/** The registry's own answer for a tag (test/rig/registry.ts), not the project's client. */
const registryDigest = (ref: string): Promise<string> => manifestDigestOf(rig.registry, ref);

function sorted(values: readonly string[] | null | undefined): string[] {
  return [...(values ?? [])].sort();
}

beforeAll(async () => {
  client = await connectDocker(daemon.dockerHost);
  const multiId = await buildImage(daemon, `${P}/app:1.0`, `FROM ${rig.baseImage}\nRUN echo one > /one\nLABEL org.example.t=multi\n`);
  createdIds.push(multiId);
  await docker(daemon, 'tag', `${P}/app:1.0`, `${P}/app:latest`);
  await docker(daemon, 'tag', `${P}/app:1.0`, `${P}/other:x`);
  // Building the same tag twice leaves the first image untagged (what `docker build` does to operators).
  const oldId = await buildImage(daemon, `${P}/moving:1`, `FROM ${rig.baseImage}\nRUN echo old-${P} > /v\n`);
  createdIds.push(oldId, await buildImage(daemon, `${P}/moving:1`, `FROM ${rig.baseImage}\nRUN echo new-${P} > /v\n`));
  const bigId = await buildImage(daemon, `${P}/big:1`, `FROM ${rig.baseImage}\nRUN head -c 100000000 /dev/urandom > /blob\n`);
  createdIds.push(bigId);
  multi = await record(multiId);
  untagged = await record(oldId);
  big = await record(bigId);
  expect(sorted(multi.tags)).toEqual([`${P}/app:1.0`, `${P}/app:latest`, `${P}/other:x`]);
  expect(untagged.tags).toEqual([]);

  auth = (await resolveRegistryAuth(
    new NodeHost(),
    { address: rig.registry.address, username: rig.registry.username, passwordEnv: 'DMM_IT_REGISTRY_PASSWORD' },
    { DMM_IT_REGISTRY_PASSWORD: rig.registry.password },
  )) as RegistryAuth;
  expect(auth).toEqual({ username: rig.registry.username, password: rig.registry.password, serveraddress: rig.registry.address });
});

afterAll(async () => {
  const failures: unknown[] = [];
  try {
    await second?.stop();
  } catch (error) {
    failures.push(error);
  }
  const leftovers = (await docker(daemon, 'images', '--format', '{{.Repository}}:{{.Tag}}')).split('\n').filter((t) => t.startsWith(`${P}/`) || t.includes(`/${P}/`));
  if (leftovers.length > 0) await dockerTry(daemon, 'rmi', ...leftovers);
  if (createdIds.length > 0) await dockerTry(daemon, 'rmi', '-f', ...createdIds);
  rmSync(work, { recursive: true, force: true });
  rmSync(childBundle, { force: true });
  if (failures.length > 0) throw failures[0];
});

describe('save and load', () => {
  const dir = join(work, 'images');

  it('saves an image with several tags, an untagged image and a big one into archives that verify', async () => {
    const results = await saveImages(client, [multi, untagged, big], dir, { concurrency: 2 });
    for (const result of results) if (!result.ok) throw result.error;
    expect(readdirSync(dir).sort()).toEqual([multi, untagged, big].map(imageArchiveFileName).sort());
    for (const result of results) {
      if (!result.ok) continue;
      const { image, archive } = result;
      expect(archive.sha256).toBe(await sha256sum(archive.path));
      expect(archive.bytes).toBe(statSync(archive.path).size);
      expect(statSync(archive.path).mode & 0o777).toBe(0o600);
      expect(await verifyImageArchive(archive.path, image, { expectedSha256: archive.sha256 })).toEqual({ sha256: archive.sha256, bytes: archive.bytes });
      const manifest = await manifestOf(archive.path);
      expect(manifest).toHaveLength(1);
      expect(manifest[0]?.Config).toBe(`${image.id.slice('sha256:'.length)}.json`);
      expect(sorted(manifest[0]?.RepoTags)).toEqual(sorted(image.tags));
    }
    // The archive is checked against the inventory, not only against itself.
    expect(await verifyImageArchive(join(dir, imageArchiveFileName(multi)), { ...multi, tags: [...multi.tags, `${P}/app:gone`] })).toBeUndefined();
  });

  it('loads them into a fresh daemon with the same IDs and every tag', async () => {
    second = await startDockerd({ name: 'images-load', storageDriver: 'overlay2' });
    const client2 = await connectDocker(second.dockerHost);
    for (const image of [multi, untagged, big]) await loadImageArchive(client2, join(dir, imageArchiveFileName(image)));
    const tags = await listImageTags(client2);
    for (const image of [multi, untagged, big]) {
      expect(tags.has(image.id)).toBe(true);
      expect(sorted(tags.get(image.id))).toEqual(sorted(image.tags));
    }
    // And as the operator would see it.
    const cli = await docker(second, 'images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}');
    for (const tag of multi.tags) expect(cli).toContain(`${multi.id} ${tag}`);
    expect(cli).toContain(`${untagged.id} <none>:<none>`);
  });

  it('loads nothing of an archive changed since it was saved, on Engine 20.10 and 26: the checked upload is cut off before the daemon has a complete tar', async () => {
    // A file appended with GNU tar (over the end marker): the daemon would load the image as it is.
    const appended = join(work, 'appended.tar');
    copyFileSync(join(dir, imageArchiveFileName(multi)), appended);
    writeFileSync(join(work, 'planted.txt'), 'not what was saved\n');
    await runOk('tar', ['-rf', appended, '-C', work, 'planted.txt']);
    // Another image's archive with bytes after its end marker. Engine 20.10's untar drains the
    // body to its end (a cut-off body fails it); Engine 24+ unpacks in-process and stops at the
    // marker, so there only holding the marker back keeps the image out.
    const early = join(work, 'early.tar');
    writeFileSync(early, Buffer.concat([readFileSync(join(dir, imageArchiveFileName(untagged))), Buffer.alloc(64 << 20, 7)]));
    const recorded = await sha256sum(join(dir, imageArchiveFileName(multi)));
    const engine26 = await startDockerd({ name: 'images-tamper26', storageDriver: 'vfs', ...(await engine26Options()) });
    try {
      for (const daemon2 of [second as DaemonHandle, engine26]) {
        const client2 = await connectDocker(daemon2.dockerHost);
        const present = async (image: ImageRecord) => (await listImageTags(client2)).has(image.id);
        for (const [file, image] of [[appended, multi], [early, untagged]] as const) {
          await dockerTry(daemon2, 'rmi', '-f', image.id);
          await expect(loadImageArchive(client2, file, { sha256: recorded })).rejects.toBeInstanceOf(UploadDigestMismatch);
          // The daemon may still be finishing a load it was given; give it the time to show one.
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          expect(await present(image), `${file} on ${daemon2.name}`).toBe(false);
          // Unchecked, the daemon takes the same file: the check kept the image out, not the daemon.
          await loadImageArchive(client2, file);
          expect(await present(image)).toBe(true);
        }
        expect(sorted((await listImageTags(client2)).get(multi.id))).toEqual(sorted(multi.tags));
      }
    } finally {
      await engine26.stop();
    }
  }, 600_000);

  it('turns an error line in the load stream into an error', async () => {
    const client2 = await connectDocker((second as DaemonHandle).dockerHost);
    const junk = join(work, 'junk.tar');
    await runOk('tar', ['-cf', junk, '-C', REPO_ROOT, 'package.json']);
    await expect(loadImageArchive(client2, junk)).rejects.toThrow(OperatorError);
    await expect(loadImageArchive(client2, junk)).rejects.toThrow(/manifest\.json|no such file|does not exist/i);
  });
});

describe('push and pull', () => {
  const registry = { address: rig.registry.address, repositoryPrefix: `${P}/` };

  it('pushes every tag; the registry holds the digest the push reported; the temporary tags are gone', async () => {
    for (const tag of multi.tags) {
      const targetRef = registryTargetRef(registry, tag);
      const { digest } = await pushImage(client, { sourceRef: tag, targetRef, auth });
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await registryDigest(targetRef)).toBe(digest);
    }
    expect(sorted((await listImageTags(client)).get(multi.id))).toEqual(sorted(multi.tags));
  });

  it('removes a temporary tag an interrupted push left behind, when the push is done again (resume)', async () => {
    // A push killed between tagging and untagging leaves the registry tag on the image; the
    // kill matrix found it restored with the old data-root by a rollback (push-images:middle).
    // The run's journal names the tag as its own, so the push done again removes it.
    const tag = multi.tags[0] as string;
    const targetRef = registryTargetRef({ ...registry, repositoryPrefix: `${P}-resumed/` }, tag);
    await tagImage(client, multi.id, targetRef);
    const { digest } = await pushImage(client, { sourceRef: tag, targetRef, ownTag: true, auth });
    expect(await registryDigest(targetRef)).toBe(digest);
    expect(sorted((await listImageTags(client)).get(multi.id))).toEqual(sorted(multi.tags));
  });

  it('pushes an untagged image under its ID, then removes that tag and keeps the image, untagged as it was', async () => {
    const targetRef = untaggedTargetRef(registry, untagged.id);
    const { digest } = await pushImage(client, { sourceRef: untagged.id, targetRef, auth });
    expect(await registryDigest(targetRef)).toBe(digest);
    expect((await listImageTags(client)).get(untagged.id)).toEqual([]);
    // Not even the digest reference the push added (`docker images` would show it as "<registry>/…untagged:<none>"), nor the hold.
    const images = await docker(rig.daemon, 'images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}');
    expect(images).toContain(`${untagged.id} <none>:<none>`);
    expect(images).not.toContain(`${P}/untagged`);
    expect(await docker(rig.daemon, 'ps', '-aq', '--filter', 'label=devmapper-migrate.hold')).toBe('');
  });

  // Pushes of two images run side by side: one push's cleanup removed the other's hold while it
  // was being made (a labelled container for a moment), and the commit met "no such container".
  it('leaves alone a hold of another image that is being made while it removes its own tag', async () => {
    const other = await docker(rig.daemon, 'create', '--label', `${HOLD_LABEL}=${untagged.id}`, untagged.id, 'true');
    try {
      const tag = multi.tags[0] as string;
      const targetRef = registryTargetRef({ ...registry, repositoryPrefix: `${P}-side-by-side/` }, tag);
      await tagImage(client, multi.id, targetRef);
      await removeTemporaryTag(client, multi.id, targetRef);
      expect(sorted((await listImageTags(client)).get(multi.id))).toEqual(sorted(multi.tags));
      expect(await docker(rig.daemon, 'ps', '-aq', '--no-trunc', '--filter', `label=${HOLD_LABEL}`)).toBe(other);
    } finally {
      await removeHolds(client);
    }
    expect(await docker(rig.daemon, 'ps', '-aq', '--filter', `label=${HOLD_LABEL}`)).toBe('');
  });

  it('pulls a pushed image into another daemon and puts its original tag back', async () => {
    const client2 = await connectDocker((second as DaemonHandle).dockerHost);
    const tag = multi.tags[0] as string;
    const ref = registryTargetRef(registry, tag);
    const pulled = await pullImage(client2, ref, auth);
    expect(pulled.id).toBe(multi.id);
    expect(pulled.digest).toBe(await registryDigest(ref));
    await tagImage(client2, pulled.id, `restored/${tag}`);
    expect((await listImageTags(client2)).get(multi.id)).toContain(`restored/${tag}`);
  });

  it('refuses a wrong password clearly, pushes nothing and leaves no tag behind', async () => {
    const canary = `wrong-canary-${process.pid}-pw`;
    const targetRef = registryTargetRef({ ...registry, repositoryPrefix: `${P}-denied/` }, multi.tags[0] as string);
    const error = await pushImage(client, { sourceRef: multi.tags[0] as string, targetRef, auth: { ...auth, password: canary } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    const { message, remedy } = error as OperatorError;
    expect(message).toContain(`The registry ${rig.registry.address} refused user ${rig.registry.username}`);
    expect(remedy).toMatch(/docker login/);
    expect(`${message} ${remedy} ${(error as Error).stack}`).not.toContain(canary);
    expect(await registryDigest(targetRef)).toBe('HTTP 404');
    expect(sorted((await listImageTags(client)).get(multi.id))).toEqual(sorted(multi.tags));
  });
});

describe('interrupted saves', () => {
  it('leaves nothing when a save is aborted halfway', async () => {
    const dir = join(work, 'aborted');
    mkdirSync(dir);
    const controller = new AbortController();
    const dest = join(dir, imageArchiveFileName(big));
    const error = await saveImage(client, big, dest, {
      signal: controller.signal,
      onProgress: (bytes) => bytes > 20_000_000 && controller.abort(),
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(readdirSync(dir)).toEqual([]);
    // The daemon copes with the client going away: the next save works.
    const again = await saveImage(client, big, dest);
    expect(await verifyImageArchive(dest, big, { expectedSha256: again.sha256 })).toBeDefined();
  });

  it('after a kill -9 in the middle of a save, saving again gives a complete verified archive and no leftovers', async () => {
    await build({
      entryPoints: [join(REPO_ROOT, 'test/integration/images-save-child.ts')],
      outfile: childBundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node18.19',
      packages: 'external',
      logLevel: 'warning',
    });
    const dir = join(work, 'killed');
    mkdirSync(dir);
    const dest = join(dir, imageArchiveFileName(big));
    const child = spawn(process.execPath, [childBundle, daemon.dockerHost, JSON.stringify(big), dest, '30000000'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const said = await new Promise<string>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out);
        });
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('exit', (code) => reject(new Error(`child exited (${code}) before freezing: ${out}${err}`)));
        setTimeout(() => reject(new Error('child did not freeze within 60 s')), 60_000);
      });
      expect(said).toMatch(/^FROZEN \d+/);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    // What a kill leaves: a partial file, never an archive under the final name.
    expect(readdirSync(dir)).toEqual([`${imageArchiveFileName(big)}.partial`]);
    expect(existsSync(dest)).toBe(false);
    expect(await verifyImageArchive(`${dest}.partial`, big)).toBeUndefined();

    const saved = await saveImage(client, big, dest);
    expect(readdirSync(dir)).toEqual([imageArchiveFileName(big)]);
    expect(await verifyImageArchive(dest, big, { expectedSha256: saved.sha256 })).toEqual({ sha256: saved.sha256, bytes: saved.bytes });
    expect(saved.sha256).toBe(await sha256sum(dest));
  });
});

describe('throughput (printed, not asserted)', () => {
  it('compares saveImage with docker save -o on the same images', async () => {
    const dir = join(work, 'bench');
    mkdirSync(dir);
    const images = [big, multi];
    const best = { tool: 0, cli: 0 };
    let bytes = 0;
    for (let round = 0; round < 2; round++) {
      let start = performance.now();
      bytes = 0;
      for (const image of images) {
        const file = join(dir, `cli-${imageArchiveFileName(image)}`);
        await docker(daemon, 'save', '-o', file, ...image.tags);
        bytes += statSync(file).size;
        rmSync(file);
      }
      best.cli = Math.max(best.cli, bytes / ((performance.now() - start) / 1000));
      start = performance.now();
      bytes = 0;
      for (const image of images) {
        const saved = await saveImage(client, image, join(dir, imageArchiveFileName(image)));
        bytes += saved.bytes;
        rmSync(saved.path);
      }
      best.tool = Math.max(best.tool, bytes / ((performance.now() - start) / 1000));
    }
    const mb = (rate: number): string => `${(rate / 1e6).toFixed(0)} MB/s`;
    console.log(
      `[images] save throughput on ${(bytes / 1e6).toFixed(0)} MB (vfs, best of 2): saveImage ${mb(best.tool)}, docker save -o ${mb(best.cli)}, ratio ${(best.tool / best.cli).toFixed(2)}`,
    );
    expect(best.tool).toBeGreaterThan(0);
  });
});
