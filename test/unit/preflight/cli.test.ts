// `preflight` from the command line, without a daemon: what an operator sees when Docker is
// not there.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { out: () => out.join(''), err: () => err.join('') };
}

afterEach(() => vi.restoreAllMocks());

describe('preflight without Docker', () => {
  it('says plainly that nothing answers on the socket it tried, without a stack trace', async () => {
    const io = capture();
    const code = await main(['--docker-host', 'unix:///tmp/dmm-no-such-dir/docker.sock', 'preflight'], {});
    expect(code).not.toBe(0);
    expect(io.err()).toContain('/tmp/dmm-no-such-dir/docker.sock');
    expect(io.err()).toMatch(/Cannot reach the Docker daemon/);
    expect(io.err()).not.toMatch(/\n\s+at /);
  });

  it('gives the error as JSON with --json', async () => {
    const io = capture();
    const code = await main(['--docker-host', 'unix:///tmp/dmm-no-such-dir/docker.sock', 'preflight', '--json'], {});
    expect(code).not.toBe(0);
    const parsed = JSON.parse(io.out()) as { error: { message: string; remedy: string } };
    expect(parsed.error.message).toContain('/tmp/dmm-no-such-dir/docker.sock');
    expect(parsed.error.remedy).toBeTruthy();
  });
});
