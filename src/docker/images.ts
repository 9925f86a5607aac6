/**
 * Images in and out of a daemon: save to verified archives, load them back, push to and pull
 * from a registry. Every transfer streams (nothing whole in memory), every progress stream is
 * read to its end, and an archive only gets its final name once it has been checked against
 * the inventory.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RegistryAuth } from '../config/registry-auth.js';
import { OperatorError } from '../errors.js';
import { PARTIAL_SUFFIX, writeFileDurably } from '../fs/atomic-file.js';
import { certsDirOf } from '../host/registry-trust.js';
import { mapLimit } from '../map-limit.js';
import { unreachableError, type DockerClient } from './client.js';
import { streamGet, streamPostFile, UploadDigestMismatch } from './daemon-stream.js';
import { checkImageArchive, isRealTag, TarFormatError, TarScanner } from './image-archive.js';
import { ImageRef, repoAndTagOf } from './image-ref.js';
import { DockerStreamError, drainProgress, ProgressReader, type ProgressMessage } from './progress.js';
import type { ImageRecord } from './types.js';

export type { RegistryAuth };

/**
 * Start writing an archive back to disk every so often while it streams: with the default
 * dirty-page limits (10% of RAM) a multi-gigabyte save would otherwise leave gigabytes for the
 * final fsync to wait for, after the daemon is done. Flushed as it goes, the save takes as long
 * as the slower of daemon and disk, not the sum.
 */
const FLUSH_EVERY = 64 << 20;

// ---------------------------------------------------------------------------------------------
// Save

export interface SaveOptions {
  /** Called with the archive bytes written so far. */
  onProgress?(bytes: number): void;
  signal?: AbortSignal;
  /** Check each layer's digest against the config's diff_ids while saving (default true; costs CPU, not I/O). */
  deep?: boolean;
}

export interface SavedArchive {
  path: string;
  /** "sha256:<hex>" of the archive file. */
  sha256: string;
  bytes: number;
}

/** The archive does not hold what the inventory says (a tag moved, the image changed, the daemon broke off). */
export class ImageArchiveError extends OperatorError {
  constructor(
    readonly image: string,
    readonly problems: readonly string[],
    remedy: string,
  ) {
    super(`The archive of image ${image} is not right: ${problems.join('; ')}.`, remedy);
    this.name = 'ImageArchiveError';
  }
}

/** What an image is called in messages: its first tag, else its short ID. */
export function imageLabel(image: Pick<ImageRecord, 'id' | 'tags'>): string {
  return image.tags.find(isRealTag) ?? shortId(image.id);
}

/** The archive's file name for an image: by ID, so that it never collides and never changes with tags. */
export function imageArchiveFileName(image: Pick<ImageRecord, 'id'>): string {
  return `${image.id.replace(/^sha256:/, '')}.tar`;
}

/** The names `GET /images/get` is asked for: every tag, or the full ID of an untagged image. */
export function imageSaveNames(image: Pick<ImageRecord, 'id' | 'tags'>): string[] {
  const tags = image.tags.filter(isRealTag);
  return tags.length > 0 ? tags : [image.id];
}

/**
 * Saves one image (every tag; an untagged one by ID) to `destPath`: streamed to
 * `<destPath>.partial`, hashed while it streams, fsynced, checked against `image`, then renamed.
 * A failed or aborted save leaves nothing at `destPath` and no `.partial` behind.
 */
export async function saveImage(client: DockerClient, image: ImageRecord, destPath: string, options: SaveOptions = {}): Promise<SavedArchive> {
  const label = imageLabel(image);
  let bytes = 0;
  try {
    return await writeFileDurably(destPath, async (partial) => {
      const hash = createHash('sha256');
      const scanner = new TarScanner();
      const tail = new Tail(16 << 10);
      let formatError: TarFormatError | undefined;
      let flushedAt = 0;
      let flushing: Promise<void> | undefined;
      const file = await open(partial, 'w', 0o600);
      try {
        const query = imageSaveNames(image).map((name) => `names=${encodeURIComponent(name)}`).join('&');
        await streamGet(client, `/images/get?${query}`, {
          signal: options.signal,
          onData(chunk) {
            hash.update(chunk);
            tail.push(chunk);
            if (formatError === undefined) {
              try {
                scanner.write(chunk);
              } catch (error) {
                if (!(error instanceof TarFormatError)) throw error;
                formatError = error; // keep reading: the daemon's own error message follows
              }
            }
            // Synchronous: the chunk's buffer is reused by the next read. Writes land in the page
            // cache; the final fsync (writeFileDurably's) is what waits for the disk.
            for (let done = 0; done < chunk.length; ) done += writeSync(file.fd, chunk, done, chunk.length - done);
            bytes += chunk.length;
            if (bytes - flushedAt >= FLUSH_EVERY && !flushing) {
              flushedAt = bytes;
              flushing = file.datasync().finally(() => (flushing = undefined));
            }
            options.onProgress?.(bytes);
          },
        });
        await flushing;
      } catch (error) {
        throw isNoSpace(error) ? error : apiError(client, error, `Saving image ${label}`, SAVE_REMEDY);
      } finally {
        await flushing?.catch(() => undefined);
        await file.close();
      }

      if (formatError !== undefined || !scanner.done) {
        const daemonSaid = daemonErrorIn(tail.bytes());
        const problem = daemonSaid ? `the daemon broke off: ${daemonSaid}` : (formatError?.message ?? 'the archive is cut short');
        throw new ImageArchiveError(label, [problem], SAVE_REMEDY);
      }
      const problems = checkImageArchive(scanner.end(), image, { deep: options.deep ?? true });
      if (problems.length > 0) throw new ImageArchiveError(label, problems, CHANGED_REMEDY);
      return { path: destPath, sha256: `sha256:${hash.digest('hex')}`, bytes };
    });
  } catch (error) {
    if (!isNoSpace(error)) throw error;
    throw new OperatorError(
      `The disk holding ${path.dirname(destPath)} filled up while saving image ${label} (${bytes} bytes written; the image is about ${image.size} bytes).`,
      `Free space there or choose another backup.directory, then run \`devmapper-migrate resume\`.`,
    );
  }
}

const isNoSpace = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOSPC';

const SAVE_REMEDY =
  'Look at the Docker daemon log (journalctl -u docker) for the cause, fix it (often disk space under the data-root), then run `devmapper-migrate resume`.';
const CHANGED_REMEDY =
  'An image or tag changed after the inventory was taken. Put the tag back (docker tag), or roll back and start a new run so that a fresh inventory is taken.';

/** Saves several images into `dir`, up to `concurrency` at once; one result per image, in order, never throwing for one image. */
export async function saveImages(
  client: DockerClient,
  images: readonly ImageRecord[],
  dir: string,
  options: {
    concurrency?: number;
    onProgress?(image: ImageRecord, bytes: number): void;
    signal?: AbortSignal;
    deep?: boolean;
  } = {},
): Promise<SaveResult[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return mapLimit(images, options.concurrency ?? 2, async (image) => {
    try {
      const archive = await saveImage(client, image, path.join(dir, imageArchiveFileName(image)), {
        signal: options.signal,
        deep: options.deep,
        onProgress: options.onProgress ? (bytes) => options.onProgress?.(image, bytes) : undefined,
      });
      return { image, ok: true as const, archive };
    } catch (error) {
      return { image, ok: false as const, error };
    }
  });
}

export type SaveResult = { image: ImageRecord; ok: true; archive: SavedArchive } | { image: ImageRecord; ok: false; error: unknown };

/** Deletes `*.partial` files an interrupted save left in `dir` (a killed process cannot clean up after itself). */
export async function removePartialArchives(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const partials = names.filter((name) => name.endsWith(PARTIAL_SUFFIX));
  await Promise.all(partials.map((name) => rm(path.join(dir, name), { force: true })));
  return partials;
}

// ---------------------------------------------------------------------------------------------
// Load

export { UploadDigestMismatch };

export interface LoadOptions {
  /** Called with the archive bytes sent so far. */
  onProgress?(bytes: number): void;
  signal?: AbortSignal;
  /**
   * The sha256 ("<hex>" or "sha256:<hex>") the run recorded when it wrote the archive: checked
   * on the bytes as they are sent, the load cut off before the archive's end on a mismatch
   * (UploadDigestMismatch is thrown, for the caller to name what the archive was).
   */
  sha256?: string;
}

/**
 * Image loads run two at a time, as the saves do. The daemon's load is the work (it untars the
 * archive, hashes and applies each layer): one at a time leaves a core idle while the other
 * waits on the disk. On the rig, eight 128 MB archives loaded in 4.9–5.2 s two at a time and in
 * 7.4–8.1 s one after the other; `docker load -i` of each in turn (the runbook) took 6.9–8.0 s.
 * Two loads that share a layer are safe: the daemon's layer store registers a chain ID once and
 * hands the second load the first one's layer (moby layer/layer_store.go, "layer already
 * exists"). The daemon holds each archive unpacked under its data-root's tmp while it loads:
 * preflight's space estimate counts that many of the largest archives.
 */
export const IMAGE_LOADS_AT_ONCE = 2;

/**
 * Loads an archive (`POST /images/load`), streaming the file and reading the answer to its end;
 * an error line throws. The load stream's text is not proof: compare `listImageTags` afterwards.
 */
export async function loadImageArchive(client: DockerClient, file: string, options: LoadOptions = {}): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new OperatorError(`The image archive ${file} does not exist.`, 'Restore it into the backup directory, or restore the image from the registry.');
  }
  const remedy = `The archive is kept. Check the Docker daemon log and the space under its data-root, then run \`devmapper-migrate resume\`.`;
  const answer = new ProgressReader();
  try {
    await streamPostFile(client, '/images/load?quiet=1', file, {
      onData: (chunk) => answer.push(chunk),
      onProgress: options.onProgress,
      signal: options.signal,
      expectedSha256: options.sha256?.replace(/^sha256:/, ''),
    });
    answer.end();
  } catch (error) {
    if (error instanceof UploadDigestMismatch) throw error;
    if (error instanceof DockerStreamError) throw new OperatorError(`Loading ${file} failed: ${error.message}`, remedy);
    throw apiError(client, error, `Loading ${file}`, remedy);
  }
}

/** Every image ID on the daemon with its tags (`GET /images/json?all=1`); untagged images map to []. */
export async function listImageTags(client: DockerClient): Promise<Map<string, string[]>> {
  const images = await client.api.listImages({ all: true });
  const result = new Map<string, string[]>();
  for (const image of images) {
    const tags = (image.RepoTags ?? []).filter(isRealTag);
    result.set(image.Id, [...(result.get(image.Id) ?? []), ...tags]);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Tag, push, pull

/** Adds the tag `repoTag` to an image (`POST /images/{id}/tag`); moves it if it pointed elsewhere. */
export async function tagImage(client: DockerClient, imageId: string, repoTag: string): Promise<void> {
  const { repo, tag } = repoAndTagOf(repoTag);
  try {
    await client.api.getImage(imageId).tag({ repo, tag });
  } catch (error) {
    throw apiError(client, error, `Tagging ${shortId(imageId)} as ${repoTag}`, 'Check that the image is still on the host.');
  }
}

/** The image ID a reference names on the daemon, or undefined when there is none. */
export async function imageIdOf(client: DockerClient, ref: string): Promise<string | undefined> {
  try {
    const info = await client.api.getImage(ref).inspect();
    return info.Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

export interface PushRequest {
  /** What to push: a tag on the host, or an image ID. */
  sourceRef: string;
  /** Where: "<address>/<prefix><repo>:<tag>" (see `registryTargetRef`). */
  targetRef: string;
  auth?: RegistryAuth;
  signal?: AbortSignal;
  onMessage?(message: ProgressMessage): void;
  /** The target tag is the run's own (journalled before an earlier attempt was cut off): remove it after the push although it exists already. */
  ownTag?: boolean;
  /** Told before each retry of a transient failure, in the words the log should have. */
  onRetry?(message: string): void;
  /** Waits before the 2nd, 3rd, … try (default PUSH_RETRY_DELAYS_MS). */
  retryDelaysMs?: readonly number[];
}

/**
 * Waits between tries of a push that failed for a passing reason: 4 tries in all over 7 s.
 * A registry answering 500 under load (Debian's did, for two tags of one image at once) or a
 * dropped connection should not stop an unattended run; one that keeps failing still does.
 */
export const PUSH_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000];

/**
 * Why a push failed, when it is worth another try: a 5xx answer of the registry (as dockerd
 * reports it: "received unexpected HTTP status: 500 Internal Server Error") or a connection
 * that dropped. Undefined for everything else (refused credentials, TLS, unknown names).
 */
export function transientPushFailure(error: unknown): string | undefined {
  const text = errorText(error);
  const status = /status(?: code)?:? (5\d\d\b(?: [A-Z][A-Za-z]*)*)/i.exec(text) ?? /\b(5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout))/.exec(text);
  if (status) return status[1];
  // dockerd reports a connection the registry closed unanswered as `Put "<url>": EOF`.
  const dropped = /ECONNRESET|socket hang up|connection reset by peer|broken pipe|unexpected EOF|: EOF$/i.exec(text.trim());
  return dropped ? `connection dropped: ${dropped[0].replace(/^: /, '')}` : undefined;
}

export interface PushResult {
  /** The manifest digest the registry stored ("sha256:<hex>"). */
  digest: string;
}

/**
 * Pushes one image to `targetRef`: tags it, pushes with X-Registry-Auth, follows the stream to
 * its end (an error line throws; a refused login is an OperatorError naming the registry and
 * the user, never the password), then removes the temporary tag again.
 */
export async function pushImage(client: DockerClient, request: PushRequest): Promise<PushResult> {
  const { sourceRef, targetRef } = request;
  const registry = ImageRef.parse(targetRef).registry;
  const imageId = await imageIdOf(client, sourceRef);
  if (imageId === undefined) {
    throw new OperatorError(`Image ${sourceRef} is no longer on the host, so it cannot be pushed.`, CHANGED_REMEDY);
  }
  const existing = await imageIdOf(client, targetRef);
  if (existing !== undefined && existing !== imageId) {
    throw new OperatorError(
      `The tag ${targetRef} already names another image (${shortId(existing)}) on this host; pushing ${sourceRef} would move it.`,
      'Remove or rename that tag (docker rmi / docker tag), or choose another registry.repositoryPrefix.',
    );
  }
  const created = existing === undefined || request.ownTag === true;
  if (created) await tagImage(client, imageId, targetRef);
  let digest: string | undefined;
  let failure: unknown;
  try {
    const { repo, tag } = repoAndTagOf(targetRef);
    const messages = await runPushWithRetries(client, repo, tag, request, registry);
    digest = pushedDigest(messages, tag);
    if (!digest) throw new Error(`The push of ${targetRef} ended without reporting a digest.`);
  } catch (error) {
    failure = error;
  }
  // Also after a failure: the temporary tag must not outlive the push.
  if (created) {
    try {
      await removeTemporaryTag(client, imageId, targetRef);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined || digest === undefined) throw failure;
  return { digest };
}

/** runPush, tried again after a transient failure (transientPushFailure) up to the bounded number of times. */
async function runPushWithRetries(client: DockerClient, repo: string, tag: string, request: PushRequest, registry: string): Promise<ProgressMessage[]> {
  const delays = request.retryDelaysMs ?? PUSH_RETRY_DELAYS_MS;
  const tries = delays.length + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await runPush(client, repo, tag, request, registry);
    } catch (error) {
      const reason = request.signal?.aborted ? undefined : transientPushFailure(error);
      if (reason === undefined || attempt >= tries) throw error;
      const delay = delays[attempt - 1] ?? 0;
      request.onRetry?.(`Push of ${request.sourceRef} failed (${reason}); retrying in ${delay / 1000} s (attempt ${attempt + 1} of ${tries})`);
      await sleep(delay, undefined, { signal: request.signal });
    }
  }
}

async function runPush(client: DockerClient, repo: string, tag: string, request: PushRequest, registry: string): Promise<ProgressMessage[]> {
  const secrets = [request.auth?.password, request.auth?.identitytoken].filter((s): s is string => !!s);
  try {
    const response = (await client.api.getImage(repo).push({
      tag,
      // An empty auth object still sends the header, which engines before 1.42 require.
      authconfig: request.auth ?? {},
      abortSignal: request.signal,
    })) as unknown as IncomingMessage;
    return await drainProgress(response, { onMessage: request.onMessage });
  } catch (error) {
    throw registryError(error, 'Pushing', request.targetRef, registry, request.auth, secrets);
  }
}

/** The digest the push stream reported for `tag`: its aux record, else its "digest: sha256:..." line. */
export function pushedDigest(messages: readonly ProgressMessage[], tag: string): string | undefined {
  const aux = messages.find((m) => m.aux && typeof m.aux.Digest === 'string' && (m.aux.Tag === undefined || m.aux.Tag === tag))?.aux;
  if (aux) return aux.Digest as string;
  for (const message of messages) {
    const match = /digest: (sha256:[0-9a-f]{64})/.exec(message.status ?? '');
    if (match) return match[1];
  }
  return undefined;
}

/** Label of the container and child image that hold an untagged image while its only name is removed. */
export const HOLD_LABEL = 'devmapper-migrate.hold';

/**
 * Removes a tag this tool added and keeps the image, also when the tag is its only name
 * (an untagged image pushed or pulled under its ID). dockerd deletes an image with its last
 * name, so a child image holds it meanwhile: the commit of a container created from it (never
 * started). With a child, dockerd removes only the name (and the digest reference the push or
 * pull added to that repository) and keeps the image; the child then goes without pruning its
 * parent. The image ends with exactly the names it had before. Nothing when the tag is not on the image.
 */
export async function removeTemporaryTag(client: DockerClient, imageId: string, ref: string): Promise<void> {
  // Only this image's holds: pushes of other images run alongside and may be holding theirs now.
  await removeHolds(client, imageId);
  const tags = (await listImageTags(client)).get(imageId) ?? [];
  if (!tags.includes(ref)) return;
  const hold = tags.length === 1 ? await holdImage(client, imageId) : undefined;
  try {
    // Forced only when held: a stopped container of the image would otherwise refuse the untag, and the child keeps the image.
    await client.api.getImage(ref).remove({ noprune: true, ...(hold ? { force: true } : {}) });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw apiError(client, error, `Removing the temporary tag ${ref}`, `Remove it by hand (docker rmi ${ref}) once the image has another name.`);
  } finally {
    if (hold) await client.api.getImage(hold).remove({ noprune: true });
  }
}

async function holdImage(client: DockerClient, imageId: string): Promise<string> {
  const container = await client.api.createContainer({ Image: imageId, Cmd: ['true'], Labels: { [HOLD_LABEL]: imageId }, HostConfig: { NetworkMode: 'none' } });
  try {
    const child = (await container.commit({ comment: 'devmapper-migrate: holds its parent while a temporary tag is removed' })) as { Id: string };
    return child.Id;
  } finally {
    await container.remove({ force: true });
  }
}

/**
 * Removes the holds a killed process may have left (containers and child images labelled
 * HOLD_LABEL), of one image or of all; never their parents. Call it for all only when no push
 * or pull is under way: a hold being made is a labelled container for a moment.
 */
export async function removeHolds(client: DockerClient, imageId?: string): Promise<void> {
  const filters = JSON.stringify({ label: [imageId ? `${HOLD_LABEL}=${imageId}` : HOLD_LABEL] });
  for (const container of await client.api.listContainers({ all: true, filters })) await client.api.getContainer(container.Id).remove({ force: true });
  for (const image of await client.api.listImages({ filters })) {
    // Only images that are nothing but a hold: a child the operator tagged is theirs.
    if ((image.RepoTags ?? []).some(isRealTag)) continue;
    await client.api.getImage(image.Id).remove({ noprune: true });
  }
}

export interface PullOptions {
  signal?: AbortSignal;
  onMessage?(message: ProgressMessage): void;
}

/** Pulls `ref` ("<address>/<repo>:<tag>") and returns the image ID it now names and the digest the stream reported. */
export async function pullImage(
  client: DockerClient,
  ref: string,
  auth: RegistryAuth | undefined,
  options: PullOptions = {},
): Promise<{ id: string; digest?: string }> {
  const registry = ImageRef.parse(ref).registry;
  const { repo, tag } = repoAndTagOf(ref);
  const secrets = [auth?.password, auth?.identitytoken].filter((s): s is string => !!s);
  let messages: ProgressMessage[];
  try {
    const response = (await client.api.createImage(auth ?? {}, { fromImage: repo, tag, abortSignal: options.signal })) as IncomingMessage;
    messages = await drainProgress(response, { onMessage: options.onMessage });
  } catch (error) {
    throw registryError(error, 'Pulling', ref, registry, auth, secrets);
  }
  const id = await imageIdOf(client, ref);
  if (id === undefined) throw new Error(`The pull of ${ref} ended, but the daemon has no such image.`);
  const digest = messages.map((m) => /Digest: (sha256:[0-9a-f]{64})/.exec(m.status ?? '')?.[1]).find(Boolean);
  return digest ? { id, digest } : { id };
}

/**
 * Where a tag is pushed: `<address>/<prefix><path>:<tag>`. A tag that names another registry
 * keeps that registry as a path component ("reg.corp:5000/app" → "reg.corp-5000/app"), so that
 * images from different registries cannot collide and the result stays a valid reference.
 */
export function registryTargetRef(registry: { address: string; repositoryPrefix?: string }, sourceTag: string): string {
  const source = ImageRef.parse(sourceTag);
  const pathPart = source.isDockerHub ? source.familiarPath : `${source.registry.toLowerCase().replace(/:/g, '-')}/${source.path}`;
  return `${registry.address.replace(/\/+$/, '')}/${registry.repositoryPrefix ?? ''}${pathPart}:${source.tagOrLatest}`;
}

/** Where an untagged image is pushed: it needs some tag, so its ID becomes one. */
export function untaggedTargetRef(registry: { address: string; repositoryPrefix?: string }, imageId: string): string {
  return `${registry.address.replace(/\/+$/, '')}/${registry.repositoryPrefix ?? ''}untagged:${imageId.replace(/^sha256:/, 'sha256-')}`;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Turns a registry failure into an operator message; never includes a secret. */
function registryError(
  error: unknown,
  verb: string,
  ref: string,
  registry: string,
  auth: RegistryAuth | undefined,
  secrets: readonly string[],
): unknown {
  if (!(error instanceof DockerStreamError) && !isApiError(error)) return error;
  const said = redact(errorText(error), secrets);
  const who = auth?.username ? `user ${auth.username}` : auth?.identitytoken ? 'the stored identity token' : 'anonymous access';
  if (/unauthori[sz]ed|authentication required|no basic auth credentials|denied|incorrect username or password|\b401\b/i.test(said)) {
    return new OperatorError(
      `The registry ${registry} refused ${who} while ${verb.toLowerCase()} ${ref}: ${said}`,
      `Check registry.username and the password (registry.passwordEnv, registry.passwordFile or ~/.docker/config.json), for example with \`docker login ${registry}\`.`,
    );
  }
  if (/server gave HTTP response to HTTPS client/i.test(said)) {
    return new OperatorError(
      `${verb} ${ref} failed: the registry ${registry} speaks plain HTTP and the Docker daemon expects HTTPS: ${said}`,
      `Serve the registry over HTTPS, or, if plain HTTP is acceptable on this network, set registry.insecure: true and list "${registry}" under insecure-registries in the daemon configuration (the daemon must be restarted to see it).`,
    );
  }
  if (/x509|certificate|tls:/i.test(said)) {
    // Never advise turning the check off: a private CA is trusted by putting it where dockerd looks.
    return new OperatorError(
      `${verb} ${ref} failed: the Docker daemon does not trust the certificate of the registry ${registry}: ${said}`,
      `Put the certificate of the CA that signed it in ${certsDirOf(registry)}/ca.crt (and client.cert/client.key there if the registry asks for a client certificate), or add that CA to the system store; dockerd reads that directory at each push. Then run \`devmapper-migrate resume\`.`,
    );
  }
  if (/connection refused|no such host|i\/o timeout|no route to host|network is unreachable/i.test(said)) {
    return new OperatorError(`${verb} ${ref} failed: the registry ${registry} cannot be reached: ${said}`, `Check registry.address and that the registry is up and reachable from this host.`);
  }
  return new OperatorError(`${verb} ${ref} failed: ${said}`, 'Check the registry and the Docker daemon log, then run `devmapper-migrate resume`.');
}

function isApiError(error: unknown): error is Error & { statusCode: number; json?: unknown } {
  return error instanceof Error && typeof (error as { statusCode?: unknown }).statusCode === 'number';
}

/** The daemon's own words for an API error (dockerode puts them in `json.message`). */
function errorText(error: unknown): string {
  if (isApiError(error)) {
    const json = error.json as { message?: unknown } | undefined;
    if (json && typeof json.message === 'string') return json.message;
  }
  return error instanceof Error ? error.message.trim() : String(error);
}

function apiError(client: DockerClient, error: unknown, what: string, remedy: string): unknown {
  if ((error as { name?: string })?.name === 'AbortError') return error; // the caller asked for it
  const unreachable = unreachableError(client, error);
  if (unreachable) return unreachable;
  if (!isApiError(error)) return error;
  const said = errorText(error);
  if (error.statusCode === 404) {
    return new OperatorError(`${what} failed: the daemon has no such image (${said}).`, CHANGED_REMEDY);
  }
  return new OperatorError(`${what} failed: ${said}`, remedy);
}

function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (secret.length > 0) result = result.split(secret).join('***');
  return result;
}

/** The message of a `{"error": ...}` record the daemon appended to a broken-off save. */
export function daemonErrorIn(tail: Buffer): string | undefined {
  const text = tail.toString('latin1');
  const start = text.lastIndexOf('{"errorDetail"') >= 0 ? text.lastIndexOf('{"errorDetail"') : text.lastIndexOf('{"error"');
  if (start < 0) return undefined;
  const end = text.indexOf('}\n', start);
  const candidate = text.slice(start, end < 0 ? undefined : end + 1).trim();
  for (const attempt of [candidate, `${candidate}}`]) {
    try {
      const parsed = JSON.parse(Buffer.from(attempt, 'latin1').toString('utf8')) as { error?: string; errorDetail?: { message?: string } };
      const message = parsed.errorDetail?.message ?? parsed.error;
      if (message) return message;
    } catch {
      // Not (yet) JSON: try the next reading.
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** The last `limit` bytes of a stream, copied (the chunks' buffers are reused). */
class Tail {
  private buffer: Buffer;
  private size = 0;
  constructor(private readonly limit: number) {
    this.buffer = Buffer.alloc(limit);
  }

  push(chunk: Buffer): void {
    if (chunk.length >= this.limit) {
      chunk.copy(this.buffer, 0, chunk.length - this.limit);
      this.size = this.limit;
      return;
    }
    const keep = Math.min(this.size, this.limit - chunk.length);
    this.buffer.copy(this.buffer, 0, this.size - keep, this.size);
    chunk.copy(this.buffer, keep);
    this.size = keep + chunk.length;
  }

  bytes(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.size));
  }
}
