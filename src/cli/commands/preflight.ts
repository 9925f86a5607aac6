import type { CommandContext } from '../context.js';
import { notBuiltYet } from './not-built.js';

export async function preflightCommand(_ctx: CommandContext, _options: Record<string, unknown>): Promise<number> {
  return notBuiltYet('preflight');
}
