// `preflight` from the command line, without a daemon: what an operator sees when Docker is
// not there. The host's own files are still read and judged; the unreachable daemon is a blocker.
import { describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';

const SOCKET = '/tmp/dmm-no-such-dir/docker.sock';

interface Report {
  facts: { daemonDown?: { message: string; remedy: string } };
  entries: { key: string; severity: string; summary: string; remediation?: string }[];
}

describe('preflight without Docker', () => {
  it('reports the host all the same, with the unreachable daemon as a blocker (exit 1), without a stack trace', async () => {
    const { code, out, err } = await runCli(['--docker-host', `unix://${SOCKET}`, 'preflight'], {});
    expect(code).toBe(1);
    expect(out).toMatch(/^BLOCKER The Docker daemon does not answer \[daemon-unreachable\]$/m);
    expect(out).toContain(SOCKET);
    expect(out).toMatch(/Cannot reach the Docker daemon/);
    expect(out).toMatch(/^Docker\s+not running/m);
    expect(`${out}${err}`).not.toMatch(/\n\s+at /);
  });

  it('gives the report as JSON with --json, naming why the daemon is missing', async () => {
    const { code, out } = await runCli(['--docker-host', `unix://${SOCKET}`, 'preflight', '--json'], {});
    expect(code).toBe(1);
    const parsed = JSON.parse(out) as Report;
    expect(parsed.facts.daemonDown?.message).toContain(SOCKET);
    const blocker = parsed.entries.find((e) => e.key === 'daemon-unreachable')!;
    expect(blocker.severity).toBe('blocker');
    expect(blocker.remediation).toBeTruthy();
  });

  it('refuses a --target-engine that is not a release (exit 2)', async () => {
    const { code, err } = await runCli(['--docker-host', `unix://${SOCKET}`, 'preflight', '--target-engine', 'latest'], {});
    expect(code).toBe(2);
    expect(err).toContain('--target-engine "latest" is not an Engine release');
  });
});
