import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DockerStreamError, drainProgress, parseProgressLine } from '../../../src/docker/progress.js';

/** A stream that yields the given chunks (cut wherever the test likes). */
function streamOf(...chunks: string[]): Readable {
  return Readable.from(chunks.map((c) => Buffer.from(c)));
}

describe('drainProgress', () => {
  it('reads every message, whatever the chunk boundaries', async () => {
    const text =
      '{"status":"Preparing","id":"a1"}\r\n{"status":"Pushed","id":"a1"}\r\n{"status":"1.0: digest: sha256:' +
      'ab'.repeat(32) +
      ' size: 527"}\r\n{"progressDetail":{},"aux":{"Tag":"1.0","Digest":"sha256:' +
      'ab'.repeat(32) +
      '","Size":527}}\r\n';
    const seen: string[] = [];
    for (const cut of [1, 5, 17, text.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += cut) chunks.push(text.slice(i, i + cut));
      const messages = await drainProgress(streamOf(...chunks), { onMessage: (m) => seen.push(m.status ?? '') });
      expect(messages).toHaveLength(4);
      expect(messages.at(-1)?.aux).toEqual({ Tag: '1.0', Digest: `sha256:${'ab'.repeat(32)}`, Size: 527 });
    }
    expect(seen.filter((s) => s === 'Pushed')).toHaveLength(4);
  });

  it('throws at an error line in a 200 stream, with the daemon words and the messages before it', async () => {
    const stream = streamOf(
      '{"status":"Loading layer"}\n',
      '{"errorDetail":{"message":"write /var/lib/docker/tmp/x: no space left on device"},"error":"write /var/lib/docker/tmp/x: no space left on device"}\n',
      '{"status":"never read"}\n',
    );
    const error = await drainProgress(stream).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as DockerStreamError).message).toBe('write /var/lib/docker/tmp/x: no space left on device');
    expect((error as DockerStreamError).messages).toEqual([{ status: 'Loading layer' }]);
  });

  it('throws for an error line without errorDetail, and for one that is the last line without a newline', async () => {
    await expect(drainProgress(streamOf('{"error":"denied: requested access to the resource is denied"}'))).rejects.toThrow(
      'denied: requested access',
    );
  });

  it('keeps a line that is not JSON as a status, and decodes UTF-8 split between chunks', async () => {
    const euro = Buffer.from('{"status":"€ ok"}\nplain words\n');
    const stream = Readable.from([euro.subarray(0, 12), euro.subarray(12)]);
    expect(await drainProgress(stream)).toEqual([{ status: '€ ok' }, { status: 'plain words' }]);
    expect(parseProgressLine('   ')).toBeUndefined();
  });

  it('fails when the stream breaks', async () => {
    const stream = new Readable({
      read() {
        this.push('{"status":"x"}\n');
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(drainProgress(stream)).rejects.toThrow('socket hang up');
  });
});
