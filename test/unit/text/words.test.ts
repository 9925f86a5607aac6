import { describe, expect, it } from 'vitest';
import { splitWords, wordsOf } from '../../../src/text/words.js';

describe('wordsOf, shell rules (sysconfig values, our own commands)', () => {
  it('splits like sh without expansions', () => {
    expect(wordsOf(`--a 'b c' "d \\"e\\"" f\\ g`, 'shell')).toEqual(['--a', 'b c', 'd "e"', 'f g']);
    expect(wordsOf('x""y \'\'', 'shell')).toEqual(['xy', '']);
    expect(wordsOf('service docker stop', 'shell')).toEqual(['service', 'docker', 'stop']);
  });

  it('keeps backslashes literal in single quotes, and in double quotes except before " \\ $ `', () => {
    expect(wordsOf(String.raw`'a\"b' "c\d" "e\$f"`, 'shell')).toEqual([String.raw`a\"b`, String.raw`c\d`, 'e$f']);
  });

  it('joins a backslash-newline inside a word, and has no comments (a # in a value reaches dockerd)', () => {
    expect(wordsOf('--storage-dri\\\nver x#y', 'shell')).toEqual(['--storage-driver', 'x#y']);
    expect(wordsOf('a\\\r\n b', 'shell')).toEqual(['a', 'b']);
    expect(wordsOf('--debug # -s devicemapper', 'shell')).toEqual(['--debug', '#', '-s', 'devicemapper']);
  });

  it('keeps $NAME for the caller and runs an unterminated quote to the end', () => {
    expect(wordsOf('$OPTIONS "x y', 'shell')).toEqual(['$OPTIONS', 'x y']);
  });
});

describe('splitWords, systemd rules (ExecStart=, Environment=)', () => {
  it('lets a backslash escape inside either quote, and has no comments', () => {
    expect(wordsOf(String.raw`/usr/bin/dockerd '-H a\'b' "--label=x\"y" #not-a-comment`, 'systemd')).toEqual([
      '/usr/bin/dockerd',
      "-H a'b",
      '--label=x"y',
      '#not-a-comment',
    ]);
  });

  it('takes a backslash-newline continuation for a blank, as systemd joins the lines', () => {
    expect(wordsOf('dockerd \\\n  -s\\\ndevicemapper', 'systemd')).toEqual(['dockerd', '-s', 'devicemapper']);
  });

  it('says which words were quoted (systemd expands only an unquoted $NAME)', () => {
    expect(splitWords(`$A "$B" x'$C'`, 'systemd').map((w) => [w.value, w.quoted])).toEqual([
      ['$A', false],
      ['$B', true],
      ['x$C', true],
    ]);
  });

  it('gives each word its place in the text, within the range asked for', () => {
    const text = 'ExecStart=/usr/bin/dockerd -s "devicemapper" --debug';
    const words = splitWords(text, 'systemd', 'ExecStart='.length, text.length);
    expect(words.map((w) => text.slice(w.start, w.end))).toEqual(['/usr/bin/dockerd', '-s', '"devicemapper"', '--debug']);
    expect(words[2]!.value).toBe('devicemapper');
  });
});
