/**
 * User-defined networks: recreate one from its inventory record, idempotently (a resumed run
 * finds the network it made last time and goes on).
 */
import type Docker from 'dockerode';
import { OperatorError } from '../errors.js';
import { effectivePool } from './ipam.js';
import type { IpamPoolRecord, NetworkRecord } from './types.js';

/** The parts of a network that must match for an existing one to count as the same. */
interface NetworkShape {
  driver: string;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  ipamDriver: string;
  ipamOptions: Record<string, string>;
  pools: IpamPoolRecord[];
  options: Record<string, string>;
  labels: Record<string, string>;
}

interface IpamPoolJson {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string> | null;
}

const orEmpty = (map: Record<string, string> | null | undefined): Record<string, string> => ({ ...(map ?? {}) });
const ipamDriver = (driver: string | undefined): string => (!driver || driver === 'default' ? 'default' : driver);

/** A pool as Docker defines it (an absent gateway is the subnet's first address), as one comparable string. */
function poolKey(recorded: IpamPoolRecord): string {
  const pool = effectivePool(recorded);
  const aux = Object.entries(pool.auxAddresses ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([pool.subnet ?? '', pool.gateway ?? '', pool.ipRange ?? '', aux]);
}

function shapeOfRecord(record: NetworkRecord): NetworkShape {
  return {
    driver: record.driver,
    internal: record.internal,
    attachable: record.attachable,
    enableIPv6: record.enableIPv6,
    ipamDriver: ipamDriver(record.ipam.driver),
    ipamOptions: orEmpty(record.ipam.options),
    pools: record.ipam.config,
    options: orEmpty(record.options),
    labels: orEmpty(record.labels),
  };
}

function shapeOfInspect(info: Docker.NetworkInspectInfo): NetworkShape {
  const ipam = info.IPAM as { Driver?: string; Options?: Record<string, string> | null; Config?: IpamPoolJson[] | null } | undefined;
  return {
    driver: info.Driver,
    internal: info.Internal,
    attachable: info.Attachable,
    enableIPv6: info.EnableIPv6,
    ipamDriver: ipamDriver(ipam?.Driver),
    ipamOptions: orEmpty(ipam?.Options),
    pools: (ipam?.Config ?? []).map((pool) => ({
      subnet: pool.Subnet || undefined,
      gateway: pool.Gateway || undefined,
      ipRange: pool.IPRange || undefined,
      auxAddresses: pool.AuxiliaryAddresses ?? undefined,
    })),
    options: orEmpty(info.Options),
    labels: orEmpty(info.Labels),
  };
}

const sortedEntries = (map: Record<string, string>) => JSON.stringify(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));

/** Human-readable differences between two network shapes ("driver bridge ≠ macvlan"); empty when equal. */
function differences(want: NetworkShape, have: NetworkShape): string[] {
  const out: string[] = [];
  for (const key of ['driver', 'internal', 'attachable', 'enableIPv6', 'ipamDriver'] as const) {
    if (want[key] !== have[key]) out.push(`${key} ${String(have[key])} (wanted ${String(want[key])})`);
  }
  for (const key of ['ipamOptions', 'options', 'labels'] as const) {
    if (sortedEntries(want[key]) !== sortedEntries(have[key])) out.push(`${key} ${sortedEntries(have[key])} (wanted ${sortedEntries(want[key])})`);
  }
  const pools = (shape: NetworkShape) => shape.pools.map(poolKey).sort().join(' ');
  if (pools(want) !== pools(have)) out.push(`IPAM pools ${pools(have)} (wanted ${pools(want)})`);
  return out;
}

/** How an existing network differs from its record, as Docker defines IPAM (empty: the same network). */
export function networkDifferences(record: NetworkRecord, existing: Docker.NetworkInspectInfo): string[] {
  return differences(shapeOfRecord(record), shapeOfInspect(existing));
}

/** The `POST /networks/create` body for a record. */
export function networkCreateBody(record: NetworkRecord): Docker.NetworkCreateOptions {
  return {
    Name: record.name,
    CheckDuplicate: true,
    Driver: record.driver,
    Internal: record.internal,
    Attachable: record.attachable,
    EnableIPv6: record.enableIPv6,
    IPAM: {
      Driver: ipamDriver(record.ipam.driver),
      Options: orEmpty(record.ipam.options),
      Config: record.ipam.config.map((pool) => {
        const out: IpamPoolJson = {};
        if (pool.subnet) out.Subnet = pool.subnet;
        if (pool.gateway) out.Gateway = pool.gateway;
        if (pool.ipRange) out.IPRange = pool.ipRange;
        if (pool.auxAddresses && Object.keys(pool.auxAddresses).length) out.AuxiliaryAddresses = { ...pool.auxAddresses };
        return out;
      }),
    } as Docker.IPAM,
    Options: orEmpty(record.options),
    Labels: orEmpty(record.labels),
  };
}

/** The network named exactly `name` (GET /networks/{name} would also match an ID prefix), or undefined. */
async function findNetwork(client: Docker, name: string): Promise<Docker.NetworkInspectInfo | undefined> {
  const list = await client.listNetworks({ filters: JSON.stringify({ name: [name] }) });
  const hit = list.find((n) => n.Name === name);
  // The list's entries lack nothing we compare, but inspect is the documented full form.
  return hit ? ((await client.getNetwork(hit.Id).inspect()) as Docker.NetworkInspectInfo) : undefined;
}

/**
 * Creates a user-defined network as recorded (driver, options, IPAM, flags, labels) and returns
 * its ID. An existing identical network is taken as is; a different one under the same name
 * is an OperatorError naming the differences.
 */
export async function createNetwork(client: Docker, record: NetworkRecord): Promise<string> {
  const existing = await findNetwork(client, record.name);
  if (existing) {
    const diff = networkDifferences(record, existing);
    if (!diff.length) return existing.Id;
    throw new OperatorError(
      `Network ${record.name} already exists on this daemon with a different configuration: ${diff.join('; ')}.`,
      `Remove or rename that network (docker network rm ${record.name}) so it can be recreated as it was, then resume.`,
    );
  }
  try {
    const network = await client.createNetwork(networkCreateBody(record));
    return network.id as string;
  } catch (error) {
    const message = (error as { json?: { message?: string } }).json?.message ?? (error as Error).message;
    throw new OperatorError(
      `Docker refused to recreate network ${record.name} (${record.driver}): ${message}`,
      record.scope === 'swarm'
        ? 'Swarm-scoped networks are recreated by the swarm manager; exclude the containers on it or rejoin the swarm first.'
        : 'Check that the subnet does not overlap a network created since, then resume.',
    );
  }
}
