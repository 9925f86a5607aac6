import { describe, expect, it } from 'vitest';
import { transientPushFailure } from '../../../src/docker/images.js';
import { DockerStreamError } from '../../../src/docker/progress.js';

// Which push failures are tried again (issue 19 item 15): a registry's 5xx and dropped
// connections, as dockerd words them; never refused credentials, TLS or unknown names.
describe('transientPushFailure', () => {
  const stream = (text: string) => new DockerStreamError(text, []);

  it.each([
    ['received unexpected HTTP status: 500 Internal Server Error', '500 Internal Server Error'],
    ['received unexpected HTTP status: 503 Service Unavailable', '503 Service Unavailable'],
    ['Put "http://10.0.0.1:5000/v2/app/manifests/1": EOF', 'connection dropped: EOF'],
    ['read tcp 10.0.0.2:4711->10.0.0.1:5000: read: connection reset by peer', 'connection dropped: connection reset by peer'],
  ])('retries %j', (text, reason) => {
    expect(transientPushFailure(stream(text))).toBe(reason);
  });

  it('retries a dropped connection to the daemon', () => {
    expect(transientPushFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('connection dropped: socket hang up');
  });

  it.each([
    'unauthorized: authentication required',
    'denied: requested access to the resource is denied',
    'Get "https://reg:5000/v2/": x509: certificate signed by unknown authority',
    'received unexpected HTTP status: 404 Not Found',
    'name unknown: repository name not known to registry',
    'dial tcp 10.0.0.1:5000: connect: connection refused',
    'blob sha256:500aaa unknown',
  ])('does not retry %j', (text) => {
    expect(transientPushFailure(stream(text))).toBeUndefined();
  });
});
