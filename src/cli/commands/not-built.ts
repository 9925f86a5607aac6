import { UsageError } from '../../errors.js';

/** For contract commands that exist in --help but are not built yet: exit 2, say so. */
export function notBuiltYet(command: string): never {
  throw new UsageError(
    `"${command}" is not built yet in this version of devmapper-migrate.`,
    'See the CHANGELOG for what this version can do; "preflight" and "inventory" are safe to run.',
  );
}
