// Managed plugins stay in the old data-root: preflight names each, with the containers and
// volumes that cannot be created without it.
import { describe, expect, it } from 'vitest';
import type { PluginRecord } from '../../../src/docker/types.js';
import { pluginKey } from '../../../src/docker/types.js';
import { pluginUses } from '../../../src/preflight/checks/plugins.js';
import { preflightChecks } from '../../../src/preflight/index.js';
import { NOT_WAIVABLE } from '../../../src/config/unwaivable-blockers.js';
import { container, find, makeFacts, volume } from './helpers.js';

const logPlugin: PluginRecord = { id: 'a1', name: 'acme/logship:1.2', enabled: true, capabilities: ['logdriver'], reference: 'registry.example.com/acme/logship:1.2' };
const volumePlugin: PluginRecord = { id: 'b2', name: 'vieux/sshfs:latest', enabled: false, capabilities: ['volumedriver'], reference: 'docker.io/vieux/sshfs:latest' };
const local: PluginRecord = { id: 'c3', name: 'dmm-test/noop:latest', enabled: true, capabilities: ['volumedriver'], reference: '' };

describe('managed plugins in preflight', () => {
  const facts = makeFacts({
    inventory: {
      plugins: [logPlugin, volumePlugin, local],
      containers: [
        container({ name: 'web', logDriver: 'acme/logship:1.2' }),
        container({ name: 'files', id: 'c2'.padEnd(64, '0'), logDriver: 'json-file', mounts: [{ type: 'volume', name: 'remote', source: '', destination: '/data', driver: 'vieux/sshfs:latest', mode: 'z', rw: true }] }),
        container({ name: 'plain', id: 'c3'.padEnd(64, '0'), logDriver: 'json-file', volumeDriver: 'vieux/sshfs' }),
      ],
      volumes: [volume({ name: 'remote', driver: 'vieux/sshfs:latest', usedBy: ['files'] })],
    },
  });

  it('names each plugin, what it provides, and who uses it', () => {
    const e = find(preflightChecks(facts), 'managed-plugins')!;
    expect(e.severity).toBe('blocker');
    expect(e.title).toBe('3 managed plugins are not carried');
    expect(e.summary).toContain('acme/logship:1.2 (logdriver; used by containers web (log driver))');
    expect(e.summary).toContain('vieux/sshfs:latest (volumedriver, disabled; used by containers files (volume driver) and plain (volume driver) and volumes remote)');
    expect(e.summary).toContain('dmm-test/noop:latest (volumedriver; used by nothing in the inventory)');
    expect(e.summary).toContain('stay behind in the old one');
    expect(e.remediation).toContain('docker plugin install registry.example.com/acme/logship:1.2');
    // A plugin made locally has no reference: its name is what there is to say.
    expect(e.remediation).toContain('docker plugin install dmm-test/noop:latest');
    expect(e.remediation).toContain('containers.exclude');
  });

  it('is a blocker the answers file can waive (the operator reinstalls the plugins)', () => {
    expect(NOT_WAIVABLE.has('managed-plugins')).toBe(false);
  });

  it('is absent without plugins and on a host already on the target', () => {
    expect(find(preflightChecks(makeFacts()), 'managed-plugins')).toBeUndefined();
    expect(find(preflightChecks(makeFacts({ inventory: { plugins: [] } })), 'managed-plugins')).toBeUndefined();
  });

  it('matches drivers however they are written', () => {
    expect(pluginKey('vieux/sshfs')).toBe('vieux/sshfs:latest');
    expect(pluginKey('docker.io/vieux/sshfs:latest')).toBe('vieux/sshfs:latest');
    expect(pluginKey('localhost:5000/p')).toBe('localhost:5000/p:latest');
    expect(pluginUses(facts.docker.inventory).map((u) => [u.plugin, u.containers.length, u.volumes.length])).toEqual([
      ['acme/logship:1.2', 1, 0],
      ['vieux/sshfs:latest', 2, 1],
      ['dmm-test/noop:latest', 0, 0],
    ]);
  });
});
