import { describe, expect, it } from 'vitest';
import { ExitCode, fileSystemProblem } from '../../src/errors.js';

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

describe('fileSystemProblem', () => {
  it('tells a non-root user to run as root on EACCES, naming the call and the path', () => {
    const problem = fileSystemProblem(errno('EACCES', 'open', '/var/lib/devmapper-migrate/current'), false);
    expect(problem?.message).toBe('Cannot open /var/lib/devmapper-migrate/current: permission denied (EACCES).');
    expect(problem?.remedy).toContain('as root');
    expect(problem?.exitCode).toBe(ExitCode.needsOperator);
  });

  it('points root at permissions and security modules instead', () => {
    expect(fileSystemProblem(errno('EACCES', 'mkdir', '/srv/state'), true)?.remedy).toMatch(/permissions .*SELinux/);
  });

  it('names a read-only file system and a full disk with their fixes', () => {
    expect(fileSystemProblem(errno('EROFS', 'mkdir', '/mnt/ro/state'))?.remedy).toContain('writable file system');
    expect(fileSystemProblem(errno('ENOSPC', 'write', '/var/lib/x'))?.message).toContain('no space left');
  });

  it('leaves everything else to the caller (bugs keep their stack)', () => {
    expect(fileSystemProblem(new TypeError('x is undefined'))).toBeUndefined();
    expect(fileSystemProblem(Object.assign(new Error('socket'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(fileSystemProblem(Object.assign(new Error('no path'), { code: 'EACCES' }))).toBeUndefined();
  });
});
