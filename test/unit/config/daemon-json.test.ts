import { describe, expect, it } from 'vitest';
import { daemonJsonStorage, findJsonProblem, parseDaemonJson } from '../../../src/config/daemon-json.js';

function problem(text: string) {
  const parsed = parseDaemonJson(text);
  if (parsed.ok) throw new Error(`expected an error for ${JSON.stringify(text)}`);
  return parsed.error;
}

describe('parseDaemonJson', () => {
  it('parses an object', () => {
    const parsed = parseDaemonJson('{ "storage-driver": "devicemapper", "storage-opts": ["dm.basesize=20G"], "debug": true }');
    expect(parsed).toMatchObject({ ok: true, empty: false, bom: false, crlf: false });
    expect(parsed.ok && parsed.value['storage-driver']).toBe('devicemapper');
  });

  it('treats an empty or blank file as an empty configuration, as dockerd does', () => {
    expect(parseDaemonJson('')).toEqual({ ok: true, value: {}, empty: true, bom: false, crlf: false });
    expect(parseDaemonJson(' \n\t\r\n')).toMatchObject({ ok: true, value: {}, empty: true });
  });

  it('strips a byte order mark and says it was there', () => {
    const parsed = parseDaemonJson('\uFEFF{"debug": true}');
    expect(parsed).toMatchObject({ ok: true, bom: true, value: { debug: true } });
  });

  it('accepts CRLF line ends and counts lines across them', () => {
    expect(parseDaemonJson('{\r\n  "debug": true\r\n}\r\n')).toMatchObject({ ok: true, crlf: true });
    expect(problem('{\r\n  "debug": true,\r\n  "x": tru\r\n}')).toMatchObject({ line: 3, column: 8 });
  });

  it('names the line and column of a comment', () => {
    expect(problem('{\n  // keep logs small\n  "log-driver": "json-file"\n}')).toMatchObject({
      line: 2,
      column: 3,
      message: 'comments are not allowed in JSON',
    });
    expect(problem('{ "a": 1 /* no */ }')).toMatchObject({ line: 1, column: 10 });
    expect(problem('# comment\n{}')).toMatchObject({ line: 1, column: 1 });
  });

  it('names trailing commas, missing commas, single quotes and unclosed strings', () => {
    expect(problem('{\n  "a": 1,\n}')).toMatchObject({ line: 3, column: 1, message: expect.stringContaining('trailing comma') });
    expect(problem('{"a": [1, 2,]}')).toMatchObject({ column: 13, message: expect.stringContaining('trailing comma') });
    expect(problem('{\n  "a": 1\n  "b": 2\n}')).toMatchObject({ line: 3, column: 3, message: 'a comma is missing before this property' });
    expect(problem("{'a': 1}")).toMatchObject({ column: 2, message: expect.stringContaining('single quotes') });
    expect(problem('{"a": "x\n}')).toMatchObject({ line: 1, column: 9, message: expect.stringContaining('line break') });
    expect(problem('{"a": "x')).toMatchObject({ column: 7, message: expect.stringContaining('not closed') });
    expect(problem('{"a": 01}')).toMatchObject({ message: expect.stringContaining('"," or "}"') });
    expect(problem('{"a": 1} x')).toMatchObject({ column: 10, message: expect.stringContaining('after the end') });
    expect(problem('{"a": ')).toMatchObject({ message: expect.stringContaining('end of file') });
  });

  it('names a key given twice, at its second place, in nested objects too', () => {
    const twice = parseDaemonJson('{\n  "storage-driver": "devicemapper",\n  "storage-driver": "overlay2"\n}\n');
    expect(twice).toMatchObject({ ok: false, error: { line: 3, column: 3, message: expect.stringContaining('"storage-driver" is given twice') } });
    const nested = parseDaemonJson('{"log-opts": {"max-size": "10m", "max-size": "20m"}}');
    expect(nested).toMatchObject({ ok: false, error: { line: 1, message: expect.stringContaining('"max-size" is given twice') } });
    // The same name in two different objects is fine.
    expect(parseDaemonJson('{"a": {"x": 1}, "b": {"x": 2}}').ok).toBe(true);
  });

  it('requires an object at the top', () => {
    expect(problem('["storage-driver"]')).toMatchObject({ line: 1, column: 1, message: expect.stringContaining('not an array') });
    expect(problem('\n  "overlay2"')).toMatchObject({ line: 2, column: 3, message: expect.stringContaining('not a string') });
    expect(problem('null')).toMatchObject({ message: expect.stringContaining('not null') });
  });

  it('agrees with JSON.parse on what is valid', () => {
    const samples = ['{}', '{"a":[1,2.5e-3,-0,true,false,null,{"b":"\\u00e9\\n"}]}', '{"a":"\\x"}', '{"a":-}', '{"a":1.}', '[', '{"a":"\t"}'];
    for (const sample of samples) {
      let valid = true;
      try {
        JSON.parse(sample);
      } catch {
        valid = false;
      }
      expect(findJsonProblem(sample) === undefined, sample).toBe(valid);
    }
  });
});

describe('daemonJsonStorage', () => {
  it('reads the storage keys and ignores wrong types', () => {
    expect(daemonJsonStorage({ 'storage-driver': 'devicemapper', 'storage-opts': ['dm.fs=xfs', 3], graph: '/srv/docker' })).toEqual({
      storageDriver: 'devicemapper',
      storageOpts: ['dm.fs=xfs'],
      dataRoot: '/srv/docker',
      dataRootKey: 'graph',
    });
    expect(daemonJsonStorage({ 'storage-driver': 5, 'storage-opts': 'dm.fs=xfs' })).toEqual({ storageOpts: [] });
    expect(daemonJsonStorage({ 'data-root': '/a', graph: '/b' })).toMatchObject({ dataRoot: '/a', dataRootKey: 'data-root' });
  });
});
