import { describe, expect, it } from 'vitest';
import { resolveAnswers, type Answers } from '../../../src/config/answers.js';
import { questionFor } from '../../../src/config/questions.js';
import { PRESS_ENTER, checkNumber, scriptedPrompter } from '../../../src/cli/prompter.js';
import { askAnswers, askSourceDockerd, confirmPlan, WizardStopped, type WizardChoices } from '../../../src/cli/wizard.js';

/** The wizard's question for a key, as declared (the tests never repeat question text). */
const message = (key: string) => questionFor(key)!.message;

const CHOICES: WizardChoices = {
  blockDevices: [
    { path: '/dev/sda', type: 'disk', sizeBytes: 53_687_091_200, mountPoints: ['/boot', '/'], disabledReason: 'in use: /boot, /' },
    { path: '/dev/sdb', type: 'disk', sizeBytes: 107_374_182_400, mountPoints: [], disabledReason: 'holds the current devicemapper pool docker-thinpool' },
    { path: '/dev/sdc', type: 'disk', sizeBytes: 107_374_182_400, mountPoints: [] },
    { path: '/dev/sdd', type: 'disk', sizeBytes: 21_474_836_480, fsType: 'xfs', mountPoints: [], disabledReason: 'holds an xfs filesystem or signature' },
  ],
  images: [
    { value: 'app/web:1.0', label: 'app/web:1.0  212 MB' },
    { value: 'app/db:2.1', label: 'app/db:2.1  80 MB' },
    { value: 'sha256:0123456789ab', label: '0123456789ab (untagged)  5 MB' },
  ],
  containers: [
    { value: 'web', label: 'web  app/web:1.0  running' },
    { value: 'db', label: 'db  app/db:2.1  running' },
  ],
  volumes: [{ value: 'dbdata', label: 'dbdata  1.2 GB  used by db' }],
  blockers: [],
  space: { neededBytes: 1_500_000_000, freeBytes: 40_000_000_000, directory: '/var/lib/devmapper-migrate' },
};

/** What resolveAnswers makes of the wizard's result: it must take every one. */
function resolved(result: { answers: Answers; secrets: object }) {
  return resolveAnswers(result.answers, { secrets: result.secrets, stateDir: '/var/lib/devmapper-migrate' });
}

describe('askAnswers', () => {
  it('asks the whole overlay2 flow in declaration order, and Enter everywhere takes the defaults', async () => {
    const prompter = scriptedPrompter(['overlay2', ...Array<symbol>(12).fill(PRESS_ENTER)]);
    const result = await askAnswers({}, CHOICES, prompter);

    expect(prompter.remaining).toBe(0);
    expect(prompter.asked.map((q) => [q.kind, q.message])).toEqual([
      ['select', message('target')],
      ['checkbox', message('images.include')],
      ['confirm', message('images.save')],
      ['confirm', message('images.push')],
      ['checkbox', message('containers.include')],
      ['confirm', message('containers.keepWritableLayer')],
      ['checkbox', message('volumes.include')],
      ['confirm', message('volumes.archive')],
      ['input', `${message('backup.directory')} (the backups need about 1.5 GB; /var/lib/devmapper-migrate has 40 GB free)`],
      ['select', message('backup.dataRoot')],
      ['select', message('service.manager')],
      ['number', message('service.timeoutSeconds')],
      ['confirm', message('rollbackOnFailure')],
    ]);
    // Choices come from the declarations, with their descriptions; every item preselected.
    expect(prompter.asked[0]!.choices!.map((c) => c.value)).toEqual(['overlay2', 'direct-lvm']);
    expect(prompter.asked[0]!.choices![1]!.name).toContain('a new LVM thin pool');
    expect(prompter.asked[1]!.choices!.every((c) => c.checked)).toBe(true);
    expect(prompter.asked[11]!.default).toBe(300);

    expect(result.secrets).toEqual({});
    expect(result.answers).toEqual({
      target: 'overlay2',
      images: { include: ['*'], exclude: [], save: true, push: false },
      containers: { include: ['*'], exclude: [], keepWritableLayer: true },
      volumes: { include: ['*'], exclude: [], archive: true },
      backup: { directory: '/var/lib/devmapper-migrate', dataRoot: 'move' },
      service: { manager: 'auto', timeoutSeconds: 300 },
      rollbackOnFailure: true,
      ignoreBlockers: [],
    });
    const r = resolved(result);
    expect(r.target).toBe('overlay2');
    expect(r.images).toEqual({ include: ['*'], exclude: [], save: true, push: false });
    expect(r.directLvm).toBeUndefined();
  });

  it('for direct-lvm offers the devices with the unusable ones disabled, and cannot pick those', async () => {
    const rest = Array<symbol>(20).fill(PRESS_ENTER);
    const refused = scriptedPrompter(['direct-lvm', '/dev/sdb', ...rest]);
    await expect(askAnswers({}, CHOICES, refused)).rejects.toThrow(/disabled.*current devicemapper pool/);

    const prompter = scriptedPrompter(['direct-lvm', '/dev/sdc', false, 96, 5, 4, PRESS_ENTER, PRESS_ENTER, ...rest]);
    const result = await askAnswers({}, CHOICES, prompter);
    const device = prompter.asked[1]!;
    expect(device.message).toBe(message('directLvm.device'));
    expect(device.default).toBe('/dev/sdc');
    const byValue = new Map(device.choices!.map((c) => [c.value, c]));
    expect(byValue.get('/dev/sda')!.disabled).toBe('in use: /boot, /');
    expect(byValue.get('/dev/sdb')!.disabled).toMatch(/current devicemapper pool/);
    expect(byValue.get('/dev/sdd')!.disabled).toMatch(/xfs/);
    expect(byValue.get('/dev/sdc')!.disabled).toBe(false);
    // Size, type, filesystem and mounts are on the line.
    expect(byValue.get('/dev/sda')!.name).toMatch(/^\/dev\/sda\s+54 GB\s+disk\s+on \/boot, \/$/);
    expect(byValue.get('/dev/sdd')!.name).toMatch(/21 GB\s+disk\s+xfs$/);

    // 96% data + 5% metadata is over 100: refused with the answers file's own words, then 4 taken.
    const metadata = prompter.asked.find((q) => q.message === message('directLvm.metadataPercent'))!;
    expect(metadata.refused).toEqual([expect.stringMatching(/add up to 101: together they must be at most 100/)]);
    expect(result.answers.directLvm).toEqual({
      device: '/dev/sdc',
      wipeSignatures: false,
      thinpoolPercent: 96,
      metadataPercent: 4,
      autoextendThreshold: 80,
      autoextendPercent: 20,
    });
    expect(resolved(result).directLvm!.device).toBe('/dev/sdc');
  });

  it('takes a typed device path, checked like the file and against the host\'s devices when given', async () => {
    const blockDevices = [...CHOICES.blockDevices.filter((d) => d.disabledReason), { path: '/dev/vdb', type: 'disk', sizeBytes: 10_737_418_240, mountPoints: [] }];
    const prompter = scriptedPrompter(['direct-lvm', '\u0000other', 'sdx', '/dev/sdz', '/dev/sdb', '/dev/vdb', ...Array<symbol>(20).fill(PRESS_ENTER)]);
    const result = await askAnswers({}, { ...CHOICES, blockDevices }, prompter);
    const typed = prompter.asked[2]!;
    expect(typed.kind).toBe('input');
    expect(typed.refused).toEqual([
      'Must be a block device path under /dev, like /dev/sdb',
      'There is no block device /dev/sdz on this host (lsblk does not list it)',
      '/dev/sdb cannot hold the new pool: holds the current devicemapper pool docker-thinpool',
    ]);
    expect(resolved(result).directLvm!.device).toBe('/dev/vdb');
  });

  it('takes any well-formed path when the host listed no devices (preflight checks it later)', async () => {
    const prompter = scriptedPrompter(['direct-lvm', '/dev/vdb', ...Array<symbol>(20).fill(PRESS_ENTER)]);
    const result = await askAnswers({}, { ...CHOICES, blockDevices: [] }, prompter);
    expect(resolved(result).directLvm!.device).toBe('/dev/vdb');
  });

  it('shows the target\'s blockers right after the target question, and stops there keeping the answer', async () => {
    const blockersFor = async (target: string) => (target === 'direct-lvm' ? [{ key: 'no-device-mapper', title: 'The kernel has no device-mapper' }] : []);
    const prompter = scriptedPrompter(['direct-lvm', false]);
    const stopped = await askAnswers({}, { ...CHOICES, blockersFor }, prompter).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(WizardStopped);
    expect((stopped as WizardStopped).answers).toEqual({ target: 'direct-lvm' });
    expect((stopped as WizardStopped).exitCode).toBe(1);
    expect((stopped as WizardStopped).message).toContain('no-device-mapper (The kernel has no device-mapper)');
    expect(prompter.asked.map((q) => q.kind)).toEqual(['select', 'confirm']);
    expect(prompter.asked[1]!.message).toMatch(/^Preflight for direct-lvm found 1 blocker\(s\): no-device-mapper/);
  });

  it('flags a device smaller than what the pool must hold, without disabling it', async () => {
    const prompter = scriptedPrompter(['direct-lvm', '/dev/sdc', ...Array<symbol>(20).fill(PRESS_ENTER)]);
    await askAnswers({}, { ...CHOICES, poolNeedsBytes: 200_000_000_000 }, prompter);
    const sdc = prompter.asked[1]!.choices!.find((c) => c.value === '/dev/sdc')!;
    expect(sdc.name).toMatch(/\(may be too small: about 200 GB to restore\)$/);
    expect(sdc.disabled).toBe(false);
  });

  it('goes on when the operator says so, and asks nothing more for a target without blockers', async () => {
    const blockersFor = async (target: string) => (target === 'direct-lvm' ? [{ key: 'k', title: 't' }] : []);
    const goOn = scriptedPrompter(['direct-lvm', true, ...Array<symbol>(20).fill(PRESS_ENTER)]);
    await askAnswers({}, { ...CHOICES, blockersFor }, goOn);
    expect(goOn.asked[2]!.message).toBe(message('directLvm.device'));
    const clean = scriptedPrompter(['overlay2', ...Array<symbol>(12).fill(PRESS_ENTER)]);
    await askAnswers({}, { ...CHOICES, blockersFor }, clean);
    expect(clean.asked.filter((q) => q.kind === 'confirm' && q.message.startsWith('Preflight'))).toEqual([]);
  });

  it('does not ask what the answers file already answers', async () => {
    const given: Answers = {
      target: 'overlay2',
      images: { save: false, include: ['app/*'] },
      service: { manager: 'command', stop: '/usr/local/bin/docker-stop' },
      rollbackOnFailure: false,
    };
    const prompter = scriptedPrompter(Array<symbol | string>(9).fill(PRESS_ENTER).concat(['/usr/local/bin/docker-start', PRESS_ENTER]));
    const result = await askAnswers(given, CHOICES, prompter);
    const asked = prompter.asked.map((q) => q.message);
    for (const key of ['target', 'images.include', 'images.save', 'service.manager', 'service.stop', 'rollbackOnFailure']) {
      expect(asked).not.toContain(message(key));
    }
    // images.exclude is left open: with include given, it is asked as text, not as a checkbox.
    expect(prompter.asked.find((q) => q.message.startsWith(message('images.exclude')))!.kind).toBe('input');
    expect(asked).toContain(message('service.start'));
    expect(prompter.remaining).toBe(0);
    expect(result.answers).toMatchObject({
      target: 'overlay2',
      images: { include: ['app/*'], exclude: [], save: false, push: false },
      service: { manager: 'command', stop: '/usr/local/bin/docker-stop', start: '/usr/local/bin/docker-start', timeoutSeconds: 300 },
      rollbackOnFailure: false,
    });
    // The given object is not changed.
    expect(given.service).toEqual({ manager: 'command', stop: '/usr/local/bin/docker-stop' });
    expect(resolved(result).service.start).toBe('/usr/local/bin/docker-start');
  });

  it('asks a required answer the file left empty', async () => {
    const given: Answers = { target: 'overlay2', service: { manager: 'command', stop: '', start: 'x' } };
    const prompter = scriptedPrompter([...Array<symbol>(9).fill(PRESS_ENTER), '', 'true', PRESS_ENTER, PRESS_ENTER]);
    const result = await askAnswers(given, CHOICES, prompter);
    const stop = prompter.asked.find((q) => q.message === message('service.stop'))!;
    expect(stop.refused).toEqual(['An answer is needed here']);
    expect(result.answers.service!.stop).toBe('true');
    expect(resolved(result).service.stop).toBe('true');
  });

  it('asks the registry password masked when there is a user and no passwordEnv/File, and keeps it out of the answers', async () => {
    const password = 's3cret-Pa55';
    const prompter = scriptedPrompter([
      'overlay2',
      PRESS_ENTER, // images
      false, // save
      true, // push
      'https://registry.local', // refused: a scheme
      'registry.local:5000',
      PRESS_ENTER, // prefix migrated/
      'deploy',
      '', // passwordEnv: none
      '', // passwordFile: none
      '', // password: refused, empty
      password,
      true, // insecure
      ...Array<symbol>(9).fill(PRESS_ENTER),
    ]);
    const result = await askAnswers({}, CHOICES, prompter);
    const address = prompter.asked.find((q) => q.message === message('registry.address'))!;
    expect(address.refused).toEqual([expect.stringMatching(/^Must be a registry host name/)]);
    const asked = prompter.asked.find((q) => q.message === message('registry.password'))!;
    expect(asked.kind).toBe('password');
    expect(asked.refused).toEqual(['An answer is needed here']);

    expect(result.secrets).toEqual({ 'registry.password': password });
    expect(result.answers.registry).toEqual({ address: 'registry.local:5000', repositoryPrefix: 'migrated/', username: 'deploy', insecure: true });
    expect(JSON.stringify(result.answers)).not.toContain(password);
    expect(prompter.remaining).toBe(0);
    expect(resolved(result).registry).toEqual({ address: 'registry.local:5000', repositoryPrefix: 'migrated/', username: 'deploy', insecure: true });
    // Without the secret the same answers are incomplete: the password is what made them whole.
    expect(() => resolveAnswers(result.answers)).toThrow(/registry\.password/);
  });

  it('does not ask the password when passwordEnv names where it is', async () => {
    const prompter = scriptedPrompter(['overlay2', PRESS_ENTER, PRESS_ENTER, true, 'r:5000', PRESS_ENTER, 'deploy', 'REG_PASS', '', ...Array<symbol>(10).fill(PRESS_ENTER)]);
    const result = await askAnswers({}, CHOICES, prompter);
    expect(prompter.asked.map((q) => q.kind)).not.toContain('password');
    expect(result.secrets).toEqual({});
    expect(resolved(result).registry).toMatchObject({ username: 'deploy', passwordEnv: 'REG_PASS' });
  });

  it('turns deselected images, containers and volumes into exact exclude names', async () => {
    const prompter = scriptedPrompter([
      'overlay2',
      ['app/web:1.0', 'sha256:0123456789ab'], // app/db:2.1 left out
      PRESS_ENTER,
      PRESS_ENTER,
      ['web', 'db'], // all containers
      PRESS_ENTER,
      [], // no volume
      ...Array<symbol>(6).fill(PRESS_ENTER),
    ]);
    const result = await askAnswers({}, CHOICES, prompter);
    expect(result.answers.images).toMatchObject({ include: ['*'], exclude: ['app/db:2.1'] });
    expect(result.answers.containers).toMatchObject({ include: ['*'], exclude: [] });
    expect(result.answers.volumes).toMatchObject({ include: ['*'], exclude: ['dbdata'] });
    expect(resolved(result).images.exclude).toEqual(['app/db:2.1']);
  });

  it('offers the blockers found, none preselected, and asks nothing for empty lists', async () => {
    const choices: WizardChoices = {
      ...CHOICES,
      images: [],
      volumes: [],
      blockers: [
        { key: 'daemon-json-invalid', title: 'daemon.json is not valid JSON' },
        { key: 'rm-containers', title: 'Containers started with --rm' },
      ],
      space: undefined,
    };
    const prompter = scriptedPrompter(['overlay2', ...Array<symbol>(10).fill(PRESS_ENTER), ['rm-containers']]);
    const result = await askAnswers({}, choices, prompter);
    const blockers = prompter.asked.at(-1)!;
    expect(blockers).toMatchObject({ kind: 'checkbox', message: message('ignoreBlockers') });
    expect(blockers.choices!.every((c) => !c.checked)).toBe(true);
    expect(prompter.asked.map((q) => q.message)).not.toContain(message('images.include'));
    // Without space facts, backup.directory is optional and left to its default.
    expect(prompter.asked.find((q) => q.message.startsWith(message('backup.directory')))!.default).toBeUndefined();
    expect(result.answers.ignoreBlockers).toEqual(['rm-containers']);
    expect(result.answers.backup).toEqual({ dataRoot: 'move' });
    expect(resolved(result).backup.directory).toBe('/var/lib/devmapper-migrate');
  });

  it('returns only answers resolveAnswers accepts, whatever is typed at the prompts', async () => {
    // Numbers out of range, a sum over 100 and a relative path are each refused, then retyped.
    const script = [
      'direct-lvm', '/dev/sdc', true,
      0, 101, 50, // thinpool
      100, 1, // metadata: 50 + 100 is over 100
      49, 100, // threshold (min 50)
      0, 100, // autoextend percent
      PRESS_ENTER, PRESS_ENTER, PRESS_ENTER, // images, save, push
      PRESS_ENTER, false, PRESS_ENTER, false, // containers, keep layer, volumes, archive
      'relative/dir', '/srv/backup', // backup.directory must be absolute
      'move+archive', 'command', 'systemctl stop docker', 'systemctl start docker', 0, 86_400, false,
    ];
    const prompter = scriptedPrompter(script);
    const result = await askAnswers({}, CHOICES, prompter);
    expect(prompter.remaining).toBe(0);
    expect(prompter.asked.flatMap((q) => q.refused).length).toBe(7);
    const r = resolved(result);
    expect(r.directLvm).toEqual({ device: '/dev/sdc', wipeSignatures: true, thinpoolPercent: 50, metadataPercent: 1, autoextendThreshold: 100, autoextendPercent: 100 });
    expect(r.backup).toEqual({ directory: '/srv/backup', dataRoot: 'move+archive' });
    expect(r.service).toEqual({ manager: 'command', stop: 'systemctl stop docker', start: 'systemctl start docker', timeoutSeconds: 86_400 });
    expect(r.containers.keepWritableLayer).toBe(false);
    expect(r.rollbackOnFailure).toBe(false);
  });
});

describe('confirmPlan', () => {
  it('confirmPlan asks with no as the default', async () => {
    const prompter = scriptedPrompter([PRESS_ENTER, true]);
    expect(await confirmPlan(prompter, 'Start the migration?')).toBe(false);
    expect(await confirmPlan(prompter, 'Start the migration?')).toBe(true);
    expect(prompter.asked[0]).toMatchObject({ kind: 'confirm', message: 'Start the migration?', default: false });
  });
});

describe('scriptedPrompter', () => {
  it('throws when it runs out of answers, naming the question', async () => {
    const prompter = scriptedPrompter([]);
    await expect(prompter.confirm({ message: 'Go?' })).rejects.toThrow(/ran out of answers at "Go\?"/);
  });
});

describe('checkNumber (the terminal number prompt: an input that takes whole numbers)', () => {
  it('takes whole numbers in range and refuses the rest with a reason', () => {
    const q = { message: 'Pool size (%)', min: 1, max: 100 };
    expect(checkNumber(q, ' 42 ')).toBe(true);
    expect(checkNumber(q, '4.2')).toBe('Enter a whole number');
    expect(checkNumber(q, '')).toBe('Enter a whole number');
    expect(checkNumber(q, '101')).toBe('Must be from 1 to 100');
  });

  it("lets the question's own validate speak instead of the range", () => {
    expect(checkNumber({ message: 'x', min: 50, max: 100, validate: (v) => (v >= 50 ? true : 'Must be a whole number from 50 to 100') }, '40')).toBe(
      'Must be a whole number from 50 to 100',
    );
  });
});

describe('askSourceDockerd (rescue mode, asked apart)', () => {
  it('takes an absolute path and refuses any other, with the key\'s own words', async () => {
    const prompter = scriptedPrompter(['dockerd-20.10', ' /root/dockerd-20.10 ']);
    expect(await askSourceDockerd(prompter)).toBe('/root/dockerd-20.10');
    expect(prompter.asked.map((q) => [q.kind, q.message])).toEqual([['input', message('source.dockerd')]]);
    expect(prompter.asked[0]!.refused).toEqual(['must be an absolute path, like /root/dockerd-20.10']);
  });
});
