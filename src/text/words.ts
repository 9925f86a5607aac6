/**
 * The one word splitter: a command line or a list of flags into words, with where each word
 * is in the text (for edits that remove words and nothing else). No expansion: `$NAME` stays in
 * the word, for the caller to expand or to find. Two dialects, for the two kinds of text read:
 *
 * - `shell`, POSIX sh (values in /etc/sysconfig/docker*, /etc/default/docker; our own
 *   commands): single quotes are literal; inside double quotes a backslash escapes only
 *   `"`, `\`, `$`, `` ` `` and a newline; outside quotes it escapes any character, and a
 *   backslash-newline joins the lines.
 * - `systemd`, systemd.syntax(7) (ExecStart=, Environment=, EnvironmentFile=): either quote
 *   groups, and a backslash escapes the next character inside both as outside; a
 *   backslash-newline is a blank (systemd joins continued lines with a space).
 *
 * Both split at spaces, tabs, newlines and carriage returns; an unterminated quote runs to the
 * end of the text. Neither has comments: what is split here is a value, and `#` inside a value
 * reaches dockerd as a word (systemd keeps it in an EnvironmentFile value and in ExecStart;
 * `$OPTIONS` expanded by a shell is not re-read for comments), so the flags after it count.
 */

export type WordRules = 'shell' | 'systemd';

export interface Word {
  /** Where the word starts and ends in the text (quotes and escapes included). */
  start: number;
  end: number;
  /** The word with its quotes and escapes removed. */
  value: string;
  /** Some of it was quoted (systemd expands a `$NAME` word only unquoted). */
  quoted: boolean;
}

const isBlank = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
/** What a backslash escapes inside double quotes in sh. */
const SHELL_DOUBLE_QUOTE_ESCAPES = '"\\$`\n';

/** The words of text[from, to). */
export function splitWords(text: string, rules: WordRules, from = 0, to = text.length): Word[] {
  const shell = rules === 'shell';
  /** Length of a backslash-newline (either line ending) at i, else 0. */
  const continuationAt = (i: number) => (text[i] !== '\\' ? 0 : text[i + 1] === '\n' ? 2 : text[i + 1] === '\r' && text[i + 2] === '\n' ? 3 : 0);
  const words: Word[] = [];
  let i = from;
  while (i < to) {
    if (isBlank(text[i])) {
      i++;
    } else if (continuationAt(i) > 0) {
      i += continuationAt(i);
    } else {
      const start = i;
      let value = '';
      let quoted = false;
      while (i < to && !isBlank(text[i])) {
        const c = text[i]!;
        const continuation = continuationAt(i);
        if (continuation > 0) {
          if (!shell) break; // a blank: ends the word
          i += continuation; // sh joins the lines: the word goes on
        } else if (c === "'" || c === '"') {
          quoted = true;
          const escapes = (next: string) => !shell || (c === '"' && SHELL_DOUBLE_QUOTE_ESCAPES.includes(next));
          let j = i + 1;
          while (j < to && text[j] !== c) {
            if (text[j] === '\\' && j + 1 < to && escapes(text[j + 1]!)) {
              if (!(shell && text[j + 1] === '\n')) value += text[j + 1];
              j += 2;
            } else value += text[j++];
          }
          i = Math.min(j + 1, to);
        } else if (c === '\\' && i + 1 < to) {
          value += text[i + 1];
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      words.push({ start, end: i, value, quoted });
    }
  }
  return words;
}

/** Just the words' values. */
export function wordsOf(text: string, rules: WordRules): string[] {
  return splitWords(text, rules).map((word) => word.value);
}
