import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { out: () => out.join(''), err: () => err.join('') };
}

describe('command line', () => {
  it('lists every command of the contract in --help', async () => {
    const io = capture();
    expect(await main(['--help'])).toBe(0);
    for (const command of ['preflight', 'inventory', 'run', 'resume', 'status', 'verify', 'rollback', 'finalize', 'answers']) {
      expect(io.out()).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    vi.restoreAllMocks();
  });

  it('exits 2 on an unknown command, naming it and the commands there are', async () => {
    const io = capture();
    expect(await main(['preflite'])).toBe(2);
    expect(io.err()).toContain("unknown command 'preflite'");
    expect(io.err()).toContain('preflight, inventory');
    vi.restoreAllMocks();
  });

  it('exits 2 on an unknown option', async () => {
    const io = capture();
    expect(await main(['inventory', '--bogus'])).toBe(2);
    expect(io.err()).toContain('--bogus');
    vi.restoreAllMocks();
  });
});
