import { describe, expect, it } from 'vitest';
import { unreachableError } from '../../../src/docker/client.js';

const client = { address: 'unix:///var/run/docker.sock', target: 'the socket /var/run/docker.sock' };
const refused = (code: string) => Object.assign(new Error(code), { code });

describe('unreachableError', () => {
  it('tells a user without access to the socket to run as root, not to start Docker', () => {
    const error = unreachableError(client, refused('EACCES'));
    expect(error?.message).toContain('permission denied (EACCES)');
    expect(error?.remedy).toContain('as root');
    expect(error?.remedy).not.toContain('Start Docker');
  });

  it('tells the operator to start Docker when nothing listens', () => {
    for (const code of ['ENOENT', 'ECONNREFUSED']) expect(unreachableError(client, refused(code))?.remedy).toMatch(/^Start Docker/);
  });

  it('leaves an answer of the daemon itself to the caller', () => {
    expect(unreachableError(client, Object.assign(new Error('conflict'), { statusCode: 409 }))).toBeUndefined();
  });
});
