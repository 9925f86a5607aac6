import { describe, expect, it } from 'vitest';
import { repeatHint, serviceText } from '../../../src/cli/commands/run.js';

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

describe('the plan\'s first line on the service manager', () => {
  it('says plainly how Docker is stopped and started', () => {
    expect(serviceText({ kind: 'command', reason: 'asked for: command' })).toBe('Docker is stopped and started by the stop and start commands of the answers');
    expect(serviceText({ kind: 'systemd', reason: 'asked for: systemd (docker.service and docker.socket)' })).toBe('Docker is stopped and started through systemd, docker.service and docker.socket');
    expect(serviceText({ kind: 'sysvinit', reason: 'auto: /etc/init.d/docker exists' })).toBe('Docker is stopped and started through sysvinit, found automatically: /etc/init.d/docker exists');
  });
});
