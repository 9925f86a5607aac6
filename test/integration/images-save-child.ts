// A save run in its own process, for images.test.ts: it freezes (the event loop blocked, the
// archive half written) once `freezeAt` bytes have arrived, so the test can SIGKILL it at a
// known point, as an operator's kill -9 or a power cut would. Bundled on the fly to .cache/.
import { connectDocker } from '../../src/docker/client.js';
import { saveImage } from '../../src/docker/images.js';
import type { ImageRecord } from '../../src/docker/types.js';

const [dockerHost = '', imageJson = '', dest = '', freezeAt = '0'] = process.argv.slice(2);
const client = await connectDocker(dockerHost);
await saveImage(client, JSON.parse(imageJson) as ImageRecord, dest, {
  onProgress(bytes) {
    if (bytes < Number(freezeAt)) return;
    process.stdout.write(`FROZEN ${bytes}\n`); // synchronous on a pipe
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  },
});
process.stdout.write('DONE\n');
