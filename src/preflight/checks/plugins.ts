/**
 * Managed plugins live in the data-root (`<data-root>/plugins`): the cutover moves them aside
 * with it, and the new data-root starts without any. A container whose log or volume driver is
 * one, or a volume of one, cannot be created there until the plugin is installed again.
 */
import { pluginKey, type Inventory, type PluginRecord } from '../../docker/types.js';
import type { Analysis } from '../analysis.js';
import { entry, listText, type Check } from '../entry.js';

export interface PluginUse {
  plugin: string;
  /** Containers that use it, each with how ("web (log driver)"). */
  containers: string[];
  /** Volumes of its driver. */
  volumes: string[];
}

/** Who uses each managed plugin: containers by log driver, volume driver or a mount's driver, and volumes by driver. */
export function pluginUses(inventory: Inventory): PluginUse[] {
  const plugins = inventory.plugins ?? [];
  return plugins.map((plugin: PluginRecord) => {
    const key = pluginKey(plugin.name);
    const uses = (name: string | undefined) => name !== undefined && name !== '' && pluginKey(name) === key;
    const containers = inventory.containers.flatMap((c) => {
      const how = [
        uses(c.logDriver) ? 'log driver' : '',
        uses(c.volumeDriver) || c.mounts.some((m) => uses(m.driver)) ? 'volume driver' : '',
      ].filter(Boolean);
      return how.length ? [`${c.name} (${how.join(', ')})`] : [];
    });
    const volumes = inventory.volumes.filter((v) => uses(v.driver)).map((v) => v.name);
    return { plugin: plugin.name, containers, volumes };
  });
}

function describePlugin(plugin: PluginRecord, use: PluginUse): string {
  const what = plugin.capabilities.length ? plugin.capabilities.join(', ') : 'no driver interface';
  const users = [
    use.containers.length ? `containers ${listText(use.containers)}` : '',
    use.volumes.length ? `volumes ${listText(use.volumes)}` : '',
  ].filter(Boolean);
  return `${plugin.name} (${what}${plugin.enabled ? '' : ', disabled'}${users.length ? `; used by ${users.join(' and ')}` : '; used by nothing in the inventory'})`;
}

export const pluginsCheck: Check = {
  name: 'managed plugins',
  keys: ['managed-plugins'],
  run(a: Analysis) {
    const plugins = a.inventory.plugins ?? [];
    if (a.alreadyOnTarget || plugins.length === 0) return [];
    const uses = pluginUses(a.inventory);
    const used = uses.filter((u) => u.containers.length || u.volumes.length);
    const install = plugins.map((p) => `\`docker plugin install ${p.reference || p.name}\``);
    return [
      entry(
        'managed-plugins',
        'blocker',
        plugins.length === 1 ? `A managed plugin is not carried: ${plugins[0]!.name}` : `${plugins.length} managed plugins are not carried`,
        `${listText(plugins.map((p, i) => describePlugin(p, uses[i]!)), 20)}. Managed plugins live in the data-root and stay behind in the old one; the new data-root has none.` +
          (used.length ? ' A container with a plugin log or volume driver, or a volume of a plugin, cannot be created on the new data-root without its plugin.' : ''),
        `Note each plugin's settings (\`docker plugin inspect NAME\`), waive this blocker (ignoreBlockers: [managed-plugins]) and, after the run, install them again with the same settings: ${listText(install)}.` +
          (used.length
            ? ' Before the run, remove the containers and volumes that use one, or leave them out (containers.exclude, volumes.exclude), and recreate them once their plugin is back.'
            : ''),
        { plugins, uses },
      ),
    ];
  },
};
