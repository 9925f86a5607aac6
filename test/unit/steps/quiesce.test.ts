// The quiesce steps against an in-memory daemon behind the doors: containers are journalled
// before they stop (so a rollback starts them again), and writable layers are kept once.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorError } from '../../../src/errors.js';
import { archiveDir } from '../../../src/steps/quiesce.js';
import { UNDO_HANDLERS } from '../../../src/steps/undo-handlers.js';
import { undoJournal } from '../../../src/steps/undo.js';
import { recorded as recordedHost } from '../verify/helpers.js';
import { FakeDocker } from './fake-docker.js';
import { answersFor, removeStepDirs, stepTest } from './step-context.js';

afterEach(removeStepDirs);

/** The recorded host's containers on a fake daemon: web running, side stopped. */
function daemonWithRecordedContainers(recorded = recordedHost()): FakeDocker {
  const docker = new FakeDocker();
  for (const inspect of recorded.inspects) {
    docker.containerList.push({ id: inspect.Id, name: inspect.Name.slice(1), imageId: inspect.Image, running: inspect.State.Running, inspect });
  }
  return docker;
}

const running = (docker: FakeDocker) => docker.containerList.filter((c) => c.running).map((c) => c.name);

describe('stop-containers', () => {
  it('journals the running containers before it stops them, so a failed stop is still rolled back', async () => {
    const docker = daemonWithRecordedContainers();
    const t = await stepTest({ recorded: recordedHost(), docker, steps: ['stop-containers'] });
    docker.failures.set('containers.stop', new Error('daemon went away'));
    await expect(t.run('stop-containers')).rejects.toThrow('daemon went away');
    expect(t.store.state.journal.map((e) => [e.kind, e.data])).toEqual([['stopped-containers', { names: ['web'] }]]);
    expect(t.store.step('stop-containers').status).toBe('failed');
  });

  it('resumed: stops what still runs, journals once, and a second run finds everything stopped', async () => {
    const docker = daemonWithRecordedContainers();
    const t = await stepTest({ recorded: recordedHost(), docker });
    docker.failures.set('containers.stop', new Error('killed'));
    await expect(t.rerun('stop-containers')).rejects.toThrow('killed');
    await t.rerun('stop-containers');
    await t.rerun('stop-containers');
    expect(docker.callsOf('containers.stop')).toEqual(['web', 'web', 'web']);
    expect(running(docker)).toEqual([]);
    expect(t.store.state.journal.filter((e) => e.kind === 'stopped-containers')).toHaveLength(1);
  });

  it('is undone by starting the stopped containers again', async () => {
    const docker = daemonWithRecordedContainers();
    const t = await stepTest({ recorded: recordedHost(), docker });
    await t.rerun('stop-containers');
    expect(running(docker)).toEqual([]);
    expect(await undoJournal(t.store, t.ctx, UNDO_HANDLERS, () => undefined)).toEqual([]);
    expect(running(docker)).toEqual(['web']);
    expect(t.store.state.journal[0]?.undoneAt).toBeDefined();
  });

  it('unpauses a paused container before the stop (engines before 17.07 refuse it), journalled first, and a rollback pauses it again after starting it', async () => {
    const docker = daemonWithRecordedContainers();
    docker.container('web')!.paused = true;
    const t = await stepTest({ recorded: recordedHost(), docker });
    await t.rerun('stop-containers');
    expect(t.store.state.journal.map((e) => [e.kind, e.data])).toEqual([
      ['unpaused-containers', { names: ['web'] }],
      ['stopped-containers', { names: ['web'] }],
    ]);
    expect(docker.calls.filter((c) => c.startsWith('containers.'))).toEqual(['containers.unpause web', 'containers.stop web']);
    expect(await undoJournal(t.store, t.ctx, UNDO_HANDLERS, () => undefined)).toEqual([]);
    expect(docker.calls.slice(-2)).toEqual(['containers.start web', 'containers.pause web']);
    expect(docker.container('web')).toMatchObject({ running: true, paused: true });
  });

  it('asks nothing of the daemon when no selected container runs', async () => {
    const recorded = recordedHost();
    for (const c of recorded.inventory.containers) c.running = false;
    const docker = daemonWithRecordedContainers(recorded);
    const t = await stepTest({ recorded, docker });
    await t.rerun('stop-containers');
    expect(docker.calls).toEqual([]);
    expect(t.store.state.journal).toEqual([]);
    expect(t.said).toEqual(['No container is running']);
  });
});

describe('save-writable-layers', () => {
  it('keeps each selected container’s layer once, with its sha256, and redoes only a damaged archive on resume', async () => {
    const docker = daemonWithRecordedContainers();
    const t = await stepTest({ recorded: recordedHost(), docker });
    await t.rerun('save-writable-layers');
    const ids = t.ctx.recorded.inspects.map((i) => i.Id);
    expect(docker.callsOf('containers.captureWritableLayer')).toEqual(ids);
    for (const name of ['web', 'side']) {
      expect(t.store.state.units[`layer:${name}`]?.details).toMatchObject({ file: `${name}.tar`, sha256: expect.stringMatching(/^sha256:/) });
    }

    docker.calls.length = 0;
    await t.rerun('save-writable-layers');
    expect(docker.calls).toEqual([]);

    await writeFile(join(archiveDir(t.ctx, 'layers'), 'side.tar'), 'damaged');
    await t.rerun('save-writable-layers');
    expect(docker.callsOf('containers.captureWritableLayer')).toEqual([ids[1]]);
    expect(t.said).toContain('side.tar: the archive made before is missing or damaged; making it again');
  });
});

describe('archive-volumes', () => {
  const archiving = (stateDir: string) => {
    const answers = answersFor(stateDir);
    return { ...answers, volumes: { ...answers.volumes, archive: true } };
  };

  it('names the volume whose archive failed, and leaves no archive of it (not even a partial one) to be taken as complete', async () => {
    const recorded = recordedHost();
    const base = mkdtempSync(join(tmpdir(), 'dmm-archive-step-'));
    try {
      // The volume's files are gone from under the run: its walk fails.
      recorded.inventory.volumes[0]!.mountpoint = join(base, 'gone', '_data');
      const t = await stepTest({ recorded, answers: archiving });
      const failure = await t.rerun('archive-volumes').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(OperatorError);
      expect((failure as Error).message).toMatch(/^Volume data could not be archived: /);
      expect(readdirSync(archiveDir(t.ctx, 'volumes'))).toEqual([]);
      expect(t.store.isUnitDone('volume:data')).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
