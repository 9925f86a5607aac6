import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('command line', () => {
  it('lists every command of the contract in --help', async () => {
    const { code, out } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of ['preflight', 'inventory', 'run', 'resume', 'status', 'verify', 'rollback', 'finalize', 'answers']) {
      expect(out).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('exits 2 on an unknown command, naming it and the commands there are', async () => {
    const { code, err } = await runCli(['preflite']);
    expect(code).toBe(2);
    expect(err).toContain("unknown command 'preflite'");
    expect(err).toContain('preflight, inventory');
  });

  it('exits 2 on an unknown option', async () => {
    const { code, err } = await runCli(['inventory', '--bogus']);
    expect(code).toBe(2);
    expect(err).toContain('--bogus');
  });
});
