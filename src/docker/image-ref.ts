/**
 * One image reference, parsed once, with Docker's own normalisation (distribution/reference,
 * `ParseNormalizedNamed` and `FamiliarName`):
 *
 * - the first path component is a registry only when it contains "." or ":", is "localhost",
 *   or has an upper-case letter; otherwise the name is on Docker Hub ("docker.io");
 * - "index.docker.io" is Docker Hub too (its legacy name). "registry-1.docker.io" is not
 *   normalised by Docker: a tag written with it stays a tag of its own on the daemon, so it
 *   stays one here (treating it as Docker Hub would make two tags one push target);
 * - on Docker Hub a one-component path is an official image under "library/": canonical
 *   "docker.io/library/busybox", familiar "busybox". On any other registry "library/" is a
 *   path like any other and stays.
 */
import { OperatorError } from '../errors.js';

const DOCKER_HUB = 'docker.io';
const LEGACY_DOCKER_HUB = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

/** A path component: lower-case alphanumerics joined by ".", "_", "__" or dashes. */
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d+)?$/;

export class ImageRef {
  private constructor(
    /** "docker.io" for Docker Hub, else the host (and port) as written. */
    readonly registry: string,
    /** The repository path inside the registry, "library/busybox" for an official image. */
    readonly path: string,
    readonly tag?: string,
    /** "sha256:<hex>" when the reference pins a digest. */
    readonly digest?: string,
  ) {}

  /** Parses a reference as `docker` accepts it; an OperatorError names what is wrong with it. */
  static parse(text: string): ImageRef {
    const ref = ImageRef.tryParse(text);
    if (ref) return ref;
    throw new OperatorError(
      `"${text}" is not a valid image reference.`,
      'Write it as [registry[:port]/]path[:tag][@digest], the path in lower case (for a push: check registry.address and registry.repositoryPrefix).',
    );
  }

  /** Parses a reference, or undefined when it is not one. */
  static tryParse(text: string): ImageRef | undefined {
    let rest = text;
    let digest: string | undefined;
    const at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.slice(at + 1);
      rest = rest.slice(0, at);
      if (!DIGEST.test(digest)) return undefined;
    }
    let tag: string | undefined;
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!TAG.test(tag)) return undefined;
    }
    // A bare 64-hex name is an image ID, never a repository (Docker refuses it as a name).
    if (/^[0-9a-f]{64}$/.test(rest)) return undefined;
    const { registry, path } = splitRegistry(rest);
    if (!DOMAIN.test(registry) || !path.split('/').every((c) => COMPONENT.test(c))) return undefined;
    return new ImageRef(registry, path, tag, digest);
  }

  /** The same reference with another tag (a digest is dropped: it pinned the old one). */
  withTag(tag: string): ImageRef {
    if (!TAG.test(tag)) throw new Error(`"${tag}" is not a valid tag`);
    return new ImageRef(this.registry, this.path, tag);
  }

  get isDockerHub(): boolean {
    return this.registry === DOCKER_HUB;
  }

  /** The tag, "latest" when none is given (what `docker pull NAME` fetches). */
  get tagOrLatest(): string {
    return this.tag ?? 'latest';
  }

  /** The path as the docker CLI shows it: "busybox" for "library/busybox" on Docker Hub. */
  get familiarPath(): string {
    if (!this.isDockerHub || !this.path.startsWith(OFFICIAL_PREFIX)) return this.path;
    const rest = this.path.slice(OFFICIAL_PREFIX.length);
    return rest.includes('/') ? this.path : rest;
  }

  /** The repository as the daemon names it (`RepoTags` before the ":"): "busybox", "reg:5000/app". */
  get familiarName(): string {
    return this.isDockerHub ? this.familiarPath : `${this.registry}/${this.path}`;
  }

  /** The repository in full: "docker.io/library/busybox". */
  get canonicalName(): string {
    return `${this.registry}/${this.path}`;
  }

  /** As `docker images` shows it: "busybox:1", "team/app:1", "reg:5000/library/app:1". */
  familiar(): string {
    return this.familiarName + this.suffix();
  }

  /** Fully qualified: "docker.io/library/busybox:1". */
  canonical(): string {
    return this.canonicalName + this.suffix();
  }

  toString(): string {
    return this.familiar();
  }

  private suffix(): string {
    return `${this.tag === undefined ? '' : `:${this.tag}`}${this.digest === undefined ? '' : `@${this.digest}`}`;
  }
}

/** The familiar form of a reference; text that is no reference stays as it is (to be compared, not trusted). */
/** The repository and tag the API's tag, push and pull calls take (and the plan prints); a missing tag is "latest". */
export function repoAndTagOf(ref: string): { repo: string; tag: string } {
  const parsed = ImageRef.parse(ref);
  if (parsed.digest !== undefined) throw new Error(`${ref} is a digest reference, not repo:tag`);
  return { repo: parsed.familiarName, tag: parsed.tagOrLatest };
}

export function familiarRef(text: string): string {
  return ImageRef.tryParse(text)?.familiar() ?? text;
}

function splitRegistry(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  // A single component ("busybox", even "localhost") is always an official Docker Hub image.
  if (slash < 0) return { registry: DOCKER_HUB, path: OFFICIAL_PREFIX + name };
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  const isRegistry = first === 'localhost' || /[.:]/.test(first) || first !== first.toLowerCase();
  if (!isRegistry) return { registry: DOCKER_HUB, path: name };
  const registry = first === LEGACY_DOCKER_HUB ? DOCKER_HUB : first;
  return { registry, path: registry === DOCKER_HUB && !rest.includes('/') ? OFFICIAL_PREFIX + rest : rest };
}
