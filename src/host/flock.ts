/**
 * flock(2) for Node, which has no binding for it: util-linux's flock(1) is handed one of our
 * open descriptors as its fd 3 and locks it. The lock belongs to the open file description,
 * which this process keeps open after flock(1) exits, so we hold it until we close it or die;
 * the kernel releases it then, whatever way the process ends (kill -9, a crash, a reboot).
 */
import { spawn } from 'node:child_process';
import { OperatorError } from '../errors.js';

/** flock(1)'s exit code when --nonblock finds the lock held. */
const CONFLICT = 1;

/** Takes an exclusive lock on an open descriptor without waiting: 'busy' when another holds it. */
export async function lockDescriptor(fd: number): Promise<'locked' | 'busy'> {
  // child_process, not execa: execa does not pass a descriptor of ours as a child's fd 3.
  // Only PATH is handed on: this process's environment may hold a registry password
  // (registry.passwordEnv), and no command the tool runs gets that.
  const env = process.env.PATH === undefined ? {} : { PATH: process.env.PATH };
  const child = spawn('flock', ['--exclusive', '--nonblock', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], env });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const outcome = await new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  clearTimeout(timer);
  if (outcome.code === 0) return 'locked';
  if (outcome.code === CONFLICT) return 'busy';
  if (outcome.error?.code === 'ENOENT') {
    throw new OperatorError('The flock command is missing; it keeps two runs of devmapper-migrate from working on one host at once.', 'Install util-linux (it provides flock), then run the command again.');
  }
  throw new Error(`flock --exclusive --nonblock failed (exit ${outcome.code ?? 'none'}): ${stderr.trim() || outcome.error?.message || ''}`);
}
