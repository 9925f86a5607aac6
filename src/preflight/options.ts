/** What preflight should check against: the answers that matter to it, with their defaults. */
import { NEWEST_KNOWN_ENGINE } from './engine-removals.js';

export type Target = 'overlay2' | 'direct-lvm';
export type ServiceManager = 'auto' | 'systemd' | 'sysvinit' | 'command';

export interface PreflightOptions {
  /** answers `target`. */
  target: Target;
  /** answers `directLvm.device`. */
  device?: string;
  /** answers `directLvm.wipeSignatures`. */
  wipeSignatures: boolean;
  /** answers `directLvm.thinpoolPercent`: share of the device the data LV gets. */
  thinpoolPercent: number;
  /** answers `backup.directory`. */
  backupDirectory: string;
  /** answers `images.save`. */
  saveImages: boolean;
  /** answers `volumes.archive`. */
  archiveVolumes: boolean;
  /** answers `service.manager`. */
  serviceManager: ServiceManager;
  /** --daemon-config: the daemon.json the run will write. */
  daemonConfigPath: string;
  /** --target-engine: the Engine release the host is to start on after the migration. */
  targetEngine: string;
  /** The run's own check after the cutover: storage settings are then the target's, not the source's. */
  afterCutover: boolean;
  /**
   * answers `source.dockerd` (rescue mode): the data is read through that legacy dockerd, so an
   * installed Engine v25+ that refuses devicemapper is not a blocker (the run checks the binary).
   */
  sourceDockerd?: string;
  /** Pre-staging will run (answers `staging`, as the run decided it): the images are loaded before the stop. */
  staged?: boolean;
}

export const DEFAULT_PREFLIGHT_OPTIONS: PreflightOptions = {
  target: 'overlay2',
  wipeSignatures: false,
  thinpoolPercent: 95,
  backupDirectory: '/var/lib/devmapper-migrate',
  saveImages: true,
  archiveVolumes: true,
  serviceManager: 'auto',
  daemonConfigPath: '/etc/docker/daemon.json',
  targetEngine: NEWEST_KNOWN_ENGINE,
  afterCutover: false,
};

/** Options with every unset field at its default (the contract's answers defaults). */
export function resolvePreflightOptions(partial: Partial<PreflightOptions> = {}): PreflightOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_PREFLIGHT_OPTIONS, ...defined };
}
