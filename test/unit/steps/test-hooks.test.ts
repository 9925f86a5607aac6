import { describe, expect, it } from 'vitest';
import { hookKillTarget } from '../../../src/steps/test-hooks.js';

// The test build's kill-pid hook: a pid file may only name this process or the process started
// with that pid file (the test's dockerd --pidfile FILE), never -1, 0, init or a stray pid.
describe('hookKillTarget', () => {
  const file = '/tmp/rig/docker.pid';
  const dockerd = (pid: number) => (pid === 4242 ? ['dockerd', '--pidfile', file, ''].join('\0') : pid === 1 ? '/sbin/init\0' : undefined);

  it('accepts this process and the process that writes the pid file', () => {
    expect(hookKillTarget(file, `${process.pid}\n`, dockerd)).toBe(process.pid);
    expect(hookKillTarget(file, '4242\n', dockerd)).toBe(4242);
  });

  it.each(['-1', '0', '', 'abc', '12 13', '1e3', '99999999999'])('refuses %j', (text) => {
    expect(() => hookKillTarget(file, text, dockerd)).toThrow(/not a process id/);
  });

  it('refuses init and a process not started with the pid file', () => {
    expect(() => hookKillTarget(file, '1', dockerd)).toThrow(/not started with that pid file/);
    expect(() => hookKillTarget(file, '777', dockerd)).toThrow(/not started with that pid file/);
  });
});
