// Writes dist/devmapper-migrate.mjs: the whole tool in one file that runs with `node` alone
// (no node_modules), for air-gapped hosts. What the tool never calls is left out (see
// leaveOut): it was more than a third of the file.
// Also writes .cache/test-build/devmapper-migrate.mjs, the same tool with its fault-injection
// hooks (src/steps/test-hooks.ts) compiled in, for the fault tests only: the release build has
// them compiled out (the block labelled DMM_TEST_HOOKS is dropped), so nothing that ships can
// be told by an environment variable to kill a process.
import { build } from 'esbuild';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

const RELEASE = 'dist/devmapper-migrate.mjs';
export const TEST_BUILD = '.cache/test-build/devmapper-migrate.mjs';

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

/** Bundles to `outfile`, each output written beside it and renamed into place (tests run it concurrently). */
async function bundle(outfile, testHooks) {
  const result = await build({
    entryPoints: ['bin/devmapper-migrate.ts'],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node16',
    external: ['cpu-features', '*.node'],
    plugins: [leaveOut],
    dropLabels: testHooks ? [] : ['DMM_TEST_HOOKS'],
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
  await mkdir(dirname(outfile), { recursive: true });
  for (const file of result.outputFiles) {
    const temp = `${dirname(file.path)}/.${basename(file.path)}.${process.pid}.tmp`;
    await writeFile(temp, file.contents);
    if (file.path.endsWith('.mjs')) await chmod(temp, 0o755);
    await rename(temp, file.path);
  }
  console.log(`wrote ${outfile}`);
}

await bundle(TEST_BUILD, true);
await bundle(RELEASE, false);
