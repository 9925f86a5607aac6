/** The migration's phases, in order (DESIGN.md): the plan groups its steps by them. */
export const PHASES = ['preflight', 'export', 'quiesce', 'cutover', 'restore', 'verify'] as const;
export type Phase = (typeof PHASES)[number];
