/**
 * The answers of a run (docs/contract.md, "Answers file"). `Answers` is what a file or the
 * wizard gave, every key optional; `ResolvedAnswers` is what a run uses, defaults filled in.
 * The keys, types, choices and defaults themselves are declared once, in questions.ts.
 */

export type Target = 'overlay2' | 'direct-lvm';
export type DataRootKeep = 'move' | 'archive' | 'move+archive';
export type ServiceManager = 'auto' | 'systemd' | 'sysvinit' | 'command';
/** Pre-staging: load the images into the target data-root before the stop (auto: where it can work). */
export type Staging = 'auto' | 'on' | 'off';

/** The answers as written in a file or collected by the wizard: every key optional. */
export interface Answers {
  target?: Target;
  directLvm?: {
    device?: string;
    wipeSignatures?: boolean;
    thinpoolPercent?: number;
    metadataPercent?: number;
    autoextendThreshold?: number;
    autoextendPercent?: number;
  };
  images?: { include?: string[]; exclude?: string[]; save?: boolean; push?: boolean };
  registry?: {
    address?: string;
    repositoryPrefix?: string;
    username?: string;
    passwordEnv?: string;
    passwordFile?: string;
    insecure?: boolean;
  };
  containers?: { include?: string[]; exclude?: string[]; keepWritableLayer?: boolean };
  volumes?: { include?: string[]; exclude?: string[]; archive?: boolean };
  staging?: Staging;
  backup?: { directory?: string; dataRoot?: DataRootKeep };
  service?: { manager?: ServiceManager; stop?: string; start?: string; timeoutSeconds?: number };
  source?: { dockerd?: string };
  rollbackOnFailure?: boolean;
  ignoreBlockers?: string[];
}

/**
 * Secret answers: asked by the wizard (masked), never written to a file, a log or the state
 * dir, and kept apart from `Answers` so that saving the answers can never leak them.
 */
export interface AnswerSecrets {
  'registry.password'?: string;
}

export interface ResolvedDirectLvm {
  device: string;
  wipeSignatures: boolean;
  thinpoolPercent: number;
  metadataPercent: number;
  autoextendThreshold: number;
  autoextendPercent: number;
}

export interface ResolvedRegistry {
  address: string;
  repositoryPrefix: string;
  username?: string;
  /** Where the password comes from: the variable when it is set and not empty, else the file. */
  passwordEnv?: string;
  passwordFile?: string;
  insecure: boolean;
}

export interface GlobSelection {
  include: string[];
  exclude: string[];
}

/** The answers a run uses: every applicable key has a value; no secret is in here. */
export interface ResolvedAnswers {
  target: Target;
  /** Only when target is direct-lvm. */
  directLvm?: ResolvedDirectLvm;
  images: GlobSelection & { save: boolean; push: boolean };
  /** Only when images.push. */
  registry?: ResolvedRegistry;
  containers: GlobSelection & { keepWritableLayer: boolean };
  volumes: GlobSelection & { archive: boolean };
  staging: Staging;
  backup: { directory: string; dataRoot: DataRootKeep };
  /** `stop` and `start` are non-empty when manager is command, and "" otherwise. */
  service: { manager: ServiceManager; stop: string; start: string; timeoutSeconds: number };
  /** Rescue mode: the legacy dockerd that reads the old data-root (absent otherwise). */
  source?: { dockerd: string };
  rollbackOnFailure: boolean;
  ignoreBlockers: string[];
}
