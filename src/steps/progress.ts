import { InterruptedError } from '../errors.js';
import type { MigrationContext } from './context.js';

/** Stops a long step at a safe point (between units) once Ctrl+C was pressed. */
export function throwIfInterrupted(ctx: Pick<MigrationContext, 'signal'>, where: string): void {
  if (ctx.signal.aborted) throw new InterruptedError(where);
}

/** Seconds since `started`, for "Saved app/web:1.0 in 3.1 s". */
export function secondsSince(started: number): string {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}
