// One image reference for the whole tool, normalised as distribution/reference does
// (ParseNormalizedNamed, FamiliarName). The cases are those where the four parsers it replaces
// (familiarTag, familiarRepoTag, splitRepoTag, splitRegistryRef) disagreed.
import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../../src/errors.js';
import { familiarRef, ImageRef } from '../../../src/docker/image-ref.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const parts = (text: string) => {
  const ref = ImageRef.parse(text);
  return { registry: ref.registry, path: ref.path, tag: ref.tag, digest: ref.digest };
};

describe('ImageRef', () => {
  it('puts a name without a registry on Docker Hub, official images under library/', () => {
    expect(parts('busybox')).toEqual({ registry: 'docker.io', path: 'library/busybox', tag: undefined, digest: undefined });
    expect(parts('busybox:1.36')).toEqual({ registry: 'docker.io', path: 'library/busybox', tag: '1.36', digest: undefined });
    expect(parts('team/app:1')).toEqual({ registry: 'docker.io', path: 'team/app', tag: '1', digest: undefined });
    expect(ImageRef.parse('busybox:1').canonical()).toBe('docker.io/library/busybox:1');
    expect(ImageRef.parse('team/app:1').canonical()).toBe('docker.io/team/app:1');
  });

  it('takes docker.io and index.docker.io as Docker Hub, with or without library/ (familiarTag and familiarRepoTag disagreed)', () => {
    for (const text of ['busybox:1', 'library/busybox:1', 'docker.io/busybox:1', 'docker.io/library/busybox:1', 'index.docker.io/library/busybox:1']) {
      expect(ImageRef.parse(text).familiar(), text).toBe('busybox:1');
      expect(ImageRef.parse(text).canonical(), text).toBe('docker.io/library/busybox:1');
    }
    expect(ImageRef.parse('index.docker.io/team/app:1').familiar()).toBe('team/app:1');
  });

  it('keeps registry-1.docker.io as written: the daemon keeps such a tag apart from the Docker Hub one', () => {
    const ref = ImageRef.parse('registry-1.docker.io/library/busybox:1');
    expect(ref.registry).toBe('registry-1.docker.io');
    expect(ref.isDockerHub).toBe(false);
    expect(ref.familiar()).toBe('registry-1.docker.io/library/busybox:1');
  });

  it('drops library/ in the familiar form only on Docker Hub, and only for a one-component name', () => {
    expect(ImageRef.parse('reg:5000/library/app:1').familiar()).toBe('reg:5000/library/app:1');
    expect(ImageRef.parse('docker.io/library/a/b:1').familiar()).toBe('library/a/b:1');
    expect(ImageRef.parse('docker.io/library/a/b:1').familiarPath).toBe('library/a/b');
  });

  it('finds the registry host by ".", ":", "localhost" or an upper-case letter in the first component', () => {
    expect(ImageRef.parse('127.0.0.1:5000/x/y:1').registry).toBe('127.0.0.1:5000');
    expect(ImageRef.parse('reg.corp/app').registry).toBe('reg.corp');
    expect(ImageRef.parse('reg:5000/app').registry).toBe('reg:5000');
    expect(ImageRef.parse('localhost/x').registry).toBe('localhost');
    expect(ImageRef.parse('Registry/app').registry).toBe('Registry');
    expect(ImageRef.parse('[::1]:5000/app:2').registry).toBe('[::1]:5000');
    // A single component is a name, never a registry; a plain first component is a Hub user.
    expect(parts('localhost')).toMatchObject({ registry: 'docker.io', path: 'library/localhost' });
    expect(parts('team/app')).toMatchObject({ registry: 'docker.io', path: 'team/app' });
  });

  it('tells a registry port from a tag (splitRepoTag and splitRegistryRef split at different colons)', () => {
    expect(parts('reg:5000/app/web:1.0')).toEqual({ registry: 'reg:5000', path: 'app/web', tag: '1.0', digest: undefined });
    expect(parts('reg:5000/app/web')).toEqual({ registry: 'reg:5000', path: 'app/web', tag: undefined, digest: undefined });
    expect(ImageRef.parse('reg:5000/app/web').tagOrLatest).toBe('latest');
    expect(ImageRef.parse('reg:5000/app/web:1.0').familiarName).toBe('reg:5000/app/web');
    expect(ImageRef.parse('busybox:1').familiarName).toBe('busybox');
    expect(ImageRef.parse('busybox:1').canonicalName).toBe('docker.io/library/busybox');
  });

  it('reads digests, with and without a tag', () => {
    expect(parts(`app@${DIGEST}`)).toEqual({ registry: 'docker.io', path: 'library/app', tag: undefined, digest: DIGEST });
    expect(parts(`reg:5000/app:1@${DIGEST}`)).toEqual({ registry: 'reg:5000', path: 'app', tag: '1', digest: DIGEST });
    expect(ImageRef.parse(`docker.io/library/app:1@${DIGEST}`).familiar()).toBe(`app:1@${DIGEST}`);
    expect(ImageRef.parse(`app@${DIGEST}`).withTag('2').familiar()).toBe('app:2');
  });

  it('refuses what is no reference, as an operator error', () => {
    for (const text of ['', 'App/Web', 'reg:5000/App', 'a//b', 'app:', 'app:-x', `app@sha256:abc`, 'a'.repeat(64), 'reg:5000/']) {
      expect(ImageRef.tryParse(text), text).toBeUndefined();
    }
    expect(() => ImageRef.parse('App/Web')).toThrow(OperatorError);
  });

  it('familiarRef leaves text that is no reference as it is (archive contents are compared, not trusted)', () => {
    expect(familiarRef('docker.io/library/busybox:1')).toBe('busybox:1');
    expect(familiarRef('<none>:<none>')).toBe('<none>:<none>');
  });
});
