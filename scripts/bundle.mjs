// Writes dist/devmapper-migrate.mjs: the whole tool in one file that runs with `node` alone
// (no node_modules), for air-gapped hosts. What the tool never calls is left out (see
// leaveOut): it was more than a third of the file.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

/**
 * Dependencies of dockerode that the tool never reaches: ssh2 serves ssh:// Docker hosts (the
 * tool takes unix:// and tcp:// only), gRPC and protobuf serve BuildKit sessions and build
 * output (the tool never builds). They are required as dockerode loads, so each is replaced by
 * a stand-in that loads fine and throws, naming itself, only if something ever uses it.
 */
const LEFT_OUT = /^(ssh2|@grpc\/grpc-js|@grpc\/proto-loader|protobufjs)$/;
const leaveOut = {
  name: 'leave-out-unused',
  setup(bundle) {
    bundle.onResolve({ filter: LEFT_OUT }, (args) => ({ path: args.path, namespace: 'left-out' }));
    bundle.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
      loader: 'js',
      contents: [
        `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is left out of the single-file build of devmapper-migrate (no ssh:// hosts, no image builds)`)}); };`,
        "module.exports = new Proxy(fail, { get: (_, key) => (key === '__esModule' ? false : fail), apply: fail, construct: fail });",
      ].join('\n'),
    }));
  },
};

const outfile = 'dist/devmapper-migrate.mjs';
await build({
  entryPoints: ['bin/devmapper-migrate.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node16',
  external: ['cpu-features', '*.node'],
  plugins: [leaveOut],
  // CommonJS dependencies call require() and read __dirname/__filename; give the ESM bundle all three.
  banner: {
    js: [
      "import { createRequire as __dmmCreateRequire } from 'node:module';",
      "import { fileURLToPath as __dmmFileURLToPath } from 'node:url';",
      "import { dirname as __dmmDirname } from 'node:path';",
      'const require = __dmmCreateRequire(import.meta.url);',
      'const __filename = __dmmFileURLToPath(import.meta.url);',
      'const __dirname = __dmmDirname(__filename);',
    ].join('\n'),
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
console.log(`wrote ${outfile}`);
