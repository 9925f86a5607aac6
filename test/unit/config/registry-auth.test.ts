import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRegistryAuth, registryHost, sameRegistry } from '../../../src/config/registry-auth.js';
import { OperatorError, UsageError } from '../../../src/errors.js';
import { FixtureHost, type CannedCommand } from '../../../src/host/fixture-host.js';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

const PASSWORD = 'canary-Pa55word-7f3e';
const REGISTRY = { address: 'registry.example.com:5000', username: 'deploy' };

/** A fixture host with the given files (host path → content, optional mode) and canned commands. */
function hostWith(files: Record<string, string | [string, number]>, commands: CannedCommand[] = []): FixtureHost {
  const root = mkdtempSync(join(tmpdir(), 'dmm-auth-'));
  roots.push(root);
  for (const [path, spec] of Object.entries(files)) {
    const [content, mode] = typeof spec === 'string' ? [spec, 0o600] : spec;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    chmodSync(join(root, path), mode);
  }
  return new FixtureHost(root, { commands });
}

function dockerConfig(config: object): string {
  return JSON.stringify(config);
}

const basic = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString('base64');

async function errorOf(promise: Promise<unknown>): Promise<OperatorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OperatorError);
  const operatorError = error as OperatorError;
  expect(`${operatorError.message} ${operatorError.remedy}`).not.toContain(PASSWORD);
  return operatorError;
}

describe('resolveRegistryAuth: the answers', () => {
  it('takes the password from passwordEnv', async () => {
    const auth = await resolveRegistryAuth(hostWith({}), { ...REGISTRY, passwordEnv: 'REG_PW' }, { REG_PW: PASSWORD });
    expect(auth).toEqual({ username: 'deploy', password: PASSWORD, serveraddress: 'registry.example.com:5000' });
  });

  it('stops clearly when passwordEnv names an unset or empty variable, naming the variable only', async () => {
    for (const env of [{}, { REG_PW: '' }]) {
      const error = await errorOf(resolveRegistryAuth(hostWith({}), { ...REGISTRY, passwordEnv: 'REG_PW' }, env));
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toBe('registry.passwordEnv names the environment variable REG_PW, but it is not set (or empty).');
      expect(error.remedy).toMatch(/Export REG_PW/);
    }
  });

  it('falls back from an unset passwordEnv to passwordFile', async () => {
    const host = hostWith({ '/etc/reg-pass': `${PASSWORD}\n` });
    const auth = await resolveRegistryAuth(host, { ...REGISTRY, passwordEnv: 'REG_PW', passwordFile: '/etc/reg-pass' }, {});
    expect(auth?.password).toBe(PASSWORD);
  });

  it('reads passwordFile without its trailing newline', async () => {
    const host = hostWith({ '/etc/reg-pass': `${PASSWORD}\r\n` });
    const auth = await resolveRegistryAuth(host, { ...REGISTRY, passwordFile: '/etc/reg-pass' }, {});
    expect(auth).toEqual({ username: 'deploy', password: PASSWORD, serveraddress: 'registry.example.com:5000' });
  });

  it('refuses a password file others can read or write, before reading it (issue 19 item 11)', async () => {
    for (const mode of [0o644, 0o640, 0o620]) {
      const error = await errorOf(resolveRegistryAuth(hostWith({ '/etc/reg-pass': [PASSWORD, mode] }), { ...REGISTRY, passwordFile: '/etc/reg-pass' }, {}));
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toMatch(/registry.passwordFile \/etc\/reg-pass /);
      expect(`${error.message} ${error.remedy}`).toMatch(/chmod (600|go-w)/);
      expect(error.message).not.toContain(PASSWORD);
    }
  });

  it('stops clearly when passwordFile is missing or empty', async () => {
    const missing = await errorOf(resolveRegistryAuth(hostWith({}), { ...REGISTRY, passwordFile: '/etc/nope' }, {}));
    expect(missing.message).toBe('registry.passwordFile names /etc/nope, which does not exist.');
    const empty = await errorOf(resolveRegistryAuth(hostWith({ '/etc/empty': '\n' }), { ...REGISTRY, passwordFile: '/etc/empty' }, {}));
    expect(empty.message).toBe('The registry password file /etc/empty is empty.');
  });

  it('needs a username with a password', async () => {
    const error = await errorOf(resolveRegistryAuth(hostWith({}), { address: 'r:5000', passwordEnv: 'P' }, { P: PASSWORD }));
    expect(error.message).toMatch(/registry.username is not/);
  });

  it('prefers the password the wizard asked for', async () => {
    const auth = await resolveRegistryAuth(hostWith({}), { ...REGISTRY, passwordEnv: 'REG_PW' }, {}, { password: PASSWORD });
    expect(auth?.password).toBe(PASSWORD);
  });
});

describe('resolveRegistryAuth: ~/.docker/config.json', () => {
  it('decodes auths[server].auth, whatever form the key has', async () => {
    for (const key of ['registry.example.com:5000', 'https://registry.example.com:5000', 'https://registry.example.com:5000/v2/']) {
      const host = hostWith({ '/root/.docker/config.json': dockerConfig({ auths: { [key]: { auth: basic('ci', `${PASSWORD}:with:colons`) } } }) });
      const auth = await resolveRegistryAuth(host, { address: 'registry.example.com:5000' }, { HOME: '/root' });
      expect(auth).toEqual({ username: 'ci', password: `${PASSWORD}:with:colons`, serveraddress: 'registry.example.com:5000' });
    }
  });

  it('honours DOCKER_CONFIG and returns undefined when nothing matches', async () => {
    const host = hostWith({ '/srv/docker-cfg/config.json': dockerConfig({ auths: { 'other:5000': { auth: basic('x', 'y') } } }) });
    expect(await resolveRegistryAuth(host, { address: 'registry.example.com:5000' }, { DOCKER_CONFIG: '/srv/docker-cfg' })).toBeUndefined();
    expect(await resolveRegistryAuth(hostWith({}), { address: 'registry.example.com:5000' }, {})).toBeUndefined();
  });

  it('asks the credHelpers helper for this server before credsStore', async () => {
    const host = hostWith({ '/root/.docker/config.json': dockerConfig({ credHelpers: { 'registry.example.com:5000': 'vault' }, credsStore: 'desktop' }) }, [
      { command: 'docker-credential-vault', args: ['get'], stdout: JSON.stringify({ ServerURL: 'registry.example.com:5000', Username: 'robot', Secret: PASSWORD }) },
      { command: 'docker-credential-desktop', args: ['get'], stdout: JSON.stringify({ Username: 'wrong', Secret: 'wrong' }) },
    ]);
    const auth = await resolveRegistryAuth(host, REGISTRY, { HOME: '/root' }, { onWarning: () => undefined });
    expect(auth).toEqual({ username: 'robot', password: PASSWORD, serveraddress: 'registry.example.com:5000' });
  });

  it('uses credsStore for every server, and an identity token when the helper answers with "<token>"', async () => {
    const host = hostWith({ '/root/.docker/config.json': dockerConfig({ credsStore: 'pass' }) }, [
      { command: 'docker-credential-pass', args: ['get'], stdout: JSON.stringify({ Username: '<token>', Secret: PASSWORD }) },
    ]);
    const auth = await resolveRegistryAuth(host, { address: 'registry.example.com:5000' }, { HOME: '/root' });
    expect(auth).toEqual({ identitytoken: PASSWORD, serveraddress: 'registry.example.com:5000' });
  });

  it('falls back to auths when the helper has nothing for the server', async () => {
    const host = hostWith(
      {
        '/root/.docker/config.json': dockerConfig({ credsStore: 'pass', auths: { 'registry.example.com:5000': { auth: basic('ci', PASSWORD) } } }),
      },
      [{ command: 'docker-credential-pass', args: ['get'], exitCode: 1, stdout: 'credentials not found in native keychain' }],
    );
    const auth = await resolveRegistryAuth(host, { address: 'registry.example.com:5000' }, { HOME: '/root' });
    expect(auth).toEqual({ username: 'ci', password: PASSWORD, serveraddress: 'registry.example.com:5000' });
  });

  it('explains a helper that is not installed, or that fails, without its output', async () => {
    const config = { '/root/.docker/config.json': dockerConfig({ credsStore: 'secretservice' }) };
    const missing = await errorOf(resolveRegistryAuth(hostWith(config), { address: 'r:5000' }, { HOME: '/root' }));
    expect(missing.message).toBe(
      "Docker's config.json keeps the credentials for r:5000 in the helper docker-credential-secretservice, which is not installed here.",
    );
    const failing = hostWith(config, [
      { command: 'docker-credential-secretservice', args: ['get'], exitCode: 1, stdout: `{"Secret":"${PASSWORD}"`, stderr: 'Cannot autolaunch D-Bus without X11 $DISPLAY\nmore' },
    ]);
    const failed = await errorOf(resolveRegistryAuth(failing, { address: 'r:5000' }, { HOME: '/root' }));
    expect(failed.message).toBe('The credential helper docker-credential-secretservice failed for r:5000: Cannot autolaunch D-Bus without X11 $DISPLAY');
  });

  it('refuses a config.json that is not JSON, without quoting it', async () => {
    const host = hostWith({ '/root/.docker/config.json': `{"auths": {"r:5000": {"auth": "${basic('u', PASSWORD)}"` });
    const error = await errorOf(resolveRegistryAuth(host, { address: 'r:5000' }, { HOME: '/root' }));
    expect(error.message).toMatch(/is not valid JSON/);
    expect(error.message).not.toContain(basic('u', PASSWORD));
  });

  it('finds Docker Hub credentials under the v1 URL', async () => {
    const host = hostWith({ '/root/.docker/config.json': dockerConfig({ auths: { 'https://index.docker.io/v1/': { auth: basic('hubuser', PASSWORD) } } }) });
    const auth = await resolveRegistryAuth(host, { address: 'docker.io' }, { HOME: '/root' });
    expect(auth).toEqual({ username: 'hubuser', password: PASSWORD, serveraddress: 'docker.io' });
  });
});

describe('registry names', () => {
  it('normalises addresses and config keys', () => {
    expect(registryHost('https://reg.example.com:5000/v1/')).toBe('reg.example.com:5000');
    expect(registryHost('index.docker.io')).toBe('docker.io');
    expect(sameRegistry('http://REG:5000', 'reg:5000')).toBe(true);
    expect(sameRegistry('reg:5001', 'reg:5000')).toBe(false);
  });
});
