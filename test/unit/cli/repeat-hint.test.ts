import { describe, expect, it } from 'vitest';
import { repeatHint } from '../../../src/cli/commands/run.js';

describe('the hint to repeat a wizard run unattended', () => {
  it('promises an unattended repeat when nothing secret was typed', () => {
    expect(repeatHint('/s/answers.json', {})).toBe('`devmapper-migrate run --answers /s/answers.json --yes` repeats this run unattended.');
  });

  // The saved answers hold no password, so `answers --check` would fail them as they are.
  it('says what to add first when a registry password was typed', () => {
    const hint = repeatHint('/s/answers.json', { 'registry.password': 'typed' });
    expect(hint).toMatch(/^the registry password you typed is not saved, so add registry.passwordEnv or registry.passwordFile to it; then `devmapper-migrate run/);
    expect(hint).not.toContain('typed"');
  });
});
