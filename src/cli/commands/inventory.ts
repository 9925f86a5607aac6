import { openDockerDoors } from '../../docker/doors.js';
import type { ContainerRecord, ImageRecord, Inventory, NetworkRecord, PluginRecord, VolumeRecord } from '../../docker/types.js';
import { ExitCode } from '../../errors.js';
import { formatBytes } from '../../report/format.js';
import type { CommandContext } from '../../run/command-context.js';

/** `inventory [--json]`: what the host holds, as tables for people or JSON for automation. */
export async function inventoryCommand(ctx: CommandContext, _options: Record<string, unknown>): Promise<number> {
  const inventory = await (await openDockerDoors(ctx.options.dockerHost)).system.inventory();
  ctx.stdout(ctx.options.json ? JSON.stringify(inventory, null, 2) + '\n' : formatInventoryText(inventory));
  return ExitCode.ok;
}

/** A size for people; -1 (not reported by the daemon) shows as "?". */
const size = (bytes: number) => (bytes < 0 ? '?' : formatBytes(bytes));
const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const labelList = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`);

/** Left-aligned columns, two spaces apart; a cell may hold several lines. */
export function table(headers: readonly string[], rows: readonly (readonly (string | string[])[])[]): string {
  const cells = rows.map((row) => row.map((cell) => (Array.isArray(cell) ? (cell.length ? cell : ['']) : [cell])));
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => Math.max(...(row[i] ?? ['']).map((line) => line.length)))),
  );
  const render = (line: readonly string[]) => line.map((text, i) => (i === line.length - 1 ? text : text.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [render(headers)];
  for (const row of cells) {
    const height = Math.max(...row.map((cell) => cell.length));
    for (let n = 0; n < height; n++) lines.push(render(headers.map((_, i) => row[i]?.[n] ?? '')));
  }
  return lines.join('\n') + '\n';
}

function imagesSection(images: readonly ImageRecord[], layersSize: number | undefined): string {
  const total = images.reduce((sum, image) => sum + Math.max(0, image.size), 0);
  // Sizes add up shared layers once per image; the driver stores each layer once.
  const layers = layersSize !== undefined ? `; ${size(layersSize)} of layers, each once` : '';
  const head = `IMAGES (${images.length}, ${size(total)}${layers})\n`;
  if (!images.length) return head + '  none\n';
  return head + table(
    ['ID', 'TAGS', 'SIZE', 'CREATED', 'NOTE'],
    images.map((image) => [
      shortId(image.id),
      image.tags.length ? image.tags : ['<none>'],
      size(image.size),
      image.created.slice(0, 10),
      [image.dangling ? 'dangling' : '', ...image.repoDigests.map((d) => `digest ${d.replace(/@sha256:(.{12}).*/, '@sha256:$1…')}`)].filter(Boolean),
    ]),
  );
}

/** "container:<id>" as "container:<name>" when that container is in the inventory. */
function networkMode(container: ContainerRecord, names: ReadonlyMap<string, string>): string {
  const id = /^container:(.+)$/.exec(container.networkMode)?.[1];
  return id && names.has(id) ? `container:${names.get(id)}` : container.networkMode;
}

function containerNetworks(container: ContainerRecord, names: ReadonlyMap<string, string>): string[] {
  if (!container.networks.length) return [networkMode(container, names)];
  return container.networks.map((n) => {
    const details = [n.staticIPv4 ? `${n.staticIPv4} static` : n.ipAddress, n.staticIPv6, ...n.aliases.map((a) => `alias ${a}`)];
    const shown = details.filter(Boolean);
    return shown.length ? `${n.name} (${shown.join(', ')})` : n.name;
  });
}

function containerMounts(container: ContainerRecord): string[] {
  const mounts = container.mounts.map((m) => {
    const source = m.type === 'volume' ? m.name ?? m.source : m.source;
    return `${m.type} ${source}:${m.destination}${m.rw ? '' : ':ro'}`;
  });
  const extra = [
    ...container.volumesFrom.map((v) => `volumes-from ${v}`),
    ...container.links.map((l) => `link ${l}`),
  ];
  return [...mounts, ...extra];
}

function restart(container: ContainerRecord): string {
  const { name, maximumRetryCount } = container.restartPolicy;
  const policy = name === 'on-failure' && maximumRetryCount ? `on-failure:${maximumRetryCount}` : name || 'no';
  return container.autoRemove ? `${policy}, --rm` : policy;
}

function containersSection(containers: readonly ContainerRecord[]): string {
  // Docker reports a paused container as Running too; count the ones that really run.
  const running = containers.filter((c) => c.state === 'running').length;
  const names = new Map(containers.map((c) => [c.id, c.name]));
  const head = `CONTAINERS (${containers.length}, ${running} running)\n`;
  if (!containers.length) return head + '  none\n';
  return head + table(
    ['NAME', 'STATE', 'IMAGE', 'RESTART', 'NETWORKS', 'MOUNTS', 'WRITABLE', 'LABELS'],
    containers.map((c) => [
      c.name,
      c.state,
      [c.image, shortId(c.imageId)],
      restart(c),
      containerNetworks(c, names),
      containerMounts(c),
      size(c.sizeRw),
      labelList(c.labels),
    ]),
  );
}

function volumesSection(volumes: readonly VolumeRecord[]): string {
  const total = volumes.reduce((sum, volume) => sum + Math.max(0, volume.size), 0);
  const head = `VOLUMES (${volumes.length}, ${size(total)})\n`;
  if (!volumes.length) return head + '  none\n';
  return head + table(
    ['NAME', 'DRIVER', 'SIZE', 'USED BY', 'OPTIONS', 'LABELS', 'NOTE'],
    volumes.map((v) => [
      v.anonymous && v.name.length > 24 ? `${v.name.slice(0, 12)}…` : v.name,
      v.driver,
      size(v.size),
      v.usedBy,
      labelList(v.options),
      labelList(v.labels),
      [v.anonymous ? 'anonymous' : '', v.remote ? 'remote (data not on this host)' : ''].filter(Boolean),
    ]),
  );
}

function networksSection(networks: readonly NetworkRecord[]): string {
  const head = `NETWORKS (${networks.length} user-defined)\n`;
  if (!networks.length) return head + '  none\n';
  return head + table(
    ['NAME', 'DRIVER', 'SUBNETS', 'OPTIONS', 'LABELS'],
    networks.map((n) => [
      n.name,
      [n.driver, n.internal ? 'internal' : '', n.attachable ? 'attachable' : '', n.enableIPv6 ? 'ipv6' : ''].filter(Boolean).join(', '),
      n.ipam.config.map((p) =>
        [p.subnet, p.gateway && `gw ${p.gateway}`, p.ipRange && `range ${p.ipRange}`].filter(Boolean).join(' '),
      ),
      labelList(n.options),
      labelList(n.labels),
    ]),
  );
}

function pluginsSection(plugins: readonly PluginRecord[]): string {
  const head = `PLUGINS (${plugins.length} managed; they stay in the old data-root: reinstall them after a run)\n`;
  if (!plugins.length) return `PLUGINS (0 managed)\n  none\n`;
  return head + table(
    ['NAME', 'PROVIDES', 'ENABLED', 'FROM'],
    plugins.map((p) => [p.name, p.capabilities.join(', '), p.enabled ? 'yes' : 'no', p.reference || '(made locally)']),
  );
}

/** The inventory as text: a header line, then images, containers, volumes, networks and plugins. */
export function formatInventoryText(inventory: Inventory): string {
  const d = inventory.daemon;
  const header =
    `Docker ${d.serverVersion} (API ${d.apiVersion}), storage driver ${d.driver}, data-root ${d.dockerRootDir}\n` +
    `captured ${inventory.capturedAt}\n` +
    (inventory.sizesNotMeasured ? `sizes not measured: ${inventory.sizesNotMeasured}\n` : '');
  return [
    header,
    imagesSection(inventory.images, inventory.layersSize),
    containersSection(inventory.containers),
    volumesSection(inventory.volumes),
    networksSection(inventory.networks),
    ...(inventory.plugins ? [pluginsSection(inventory.plugins)] : []),
  ].join('\n');
}
