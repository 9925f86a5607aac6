import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('prints usage, not the wizard, when no command is given', async () => {
    const { code, out } = await runCli([]);
    expect(code).toBe(0);
    expect(out).toContain('Usage: devmapper-migrate');
    expect(out).toMatch(/^ {2}run\b/m);
  });

  it('shows the exit codes, examples and the reference in --help', async () => {
    const { out } = await runCli(['--help']);
    for (const code of ['0', '1', '2', '3', '4', '130']) expect(out).toMatch(new RegExp(`^ {2}${code} +\\S`, 'm'));
    expect(out).toContain('Examples:');
    expect(out).toContain('devmapper-migrate run --answers answers.yaml --yes');
    expect(out).toContain('docs/contract.md');
  });

  it('gives one command\'s usage with `help COMMAND`, global options included', async () => {
    const { code, out } = await runCli(['help', 'status']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: devmapper-migrate status');
    expect(out).toContain('Global Options:');
    expect(out).toContain('--state-dir <dir>');
  });

  it('accepts global options after the command', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'dmm-cli-'));
    try {
      const { code, out, err } = await runCli(['status', '--state-dir', stateDir, '--json']);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ run: null });
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
