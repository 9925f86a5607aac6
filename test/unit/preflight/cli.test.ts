// `preflight` from the command line, without a daemon: what an operator sees when Docker is
// not there.
import { describe, expect, it } from 'vitest';
import { runCli } from '../run-cli.js';

const SOCKET = '/tmp/dmm-no-such-dir/docker.sock';

describe('preflight without Docker', () => {
  it('says plainly that nothing answers on the socket it tried, without a stack trace', async () => {
    const { code, err } = await runCli(['--docker-host', `unix://${SOCKET}`, 'preflight'], {});
    expect(code).not.toBe(0);
    expect(err).toContain(SOCKET);
    expect(err).toMatch(/Cannot reach the Docker daemon/);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('gives the error as JSON with --json', async () => {
    const { code, out } = await runCli(['--docker-host', `unix://${SOCKET}`, 'preflight', '--json'], {});
    expect(code).not.toBe(0);
    const parsed = JSON.parse(out) as { error: { message: string; remedy: string } };
    expect(parsed.error.message).toContain(SOCKET);
    expect(parsed.error.remedy).toBeTruthy();
  });
});
