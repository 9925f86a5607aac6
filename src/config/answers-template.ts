/**
 * `answers --template`: a commented answers file with every key, its default and its choices,
 * derived from the declarations. It parses as it is (target left empty) and, once target is
 * filled in, resolves to the defaults.
 */
import { stringify } from 'yaml';
import { conditionText, FILE_QUESTIONS, SECTIONS, type Condition, type Question } from './questions.js';

const WIDTH = 100;

/** The template's text (YAML, ends with a newline). */
export function answersTemplate(): string {
  const out: string[] = [
    ...comment(
      '',
      'devmapper-migrate answers file: every key with its default and its choices. YAML, or JSON. ' +
        'Every key is optional except target; a key left out, or left empty, takes its default. ' +
        'Secrets are never written here: see registry.passwordEnv and registry.passwordFile.',
    ),
    '# Check a file with: devmapper-migrate answers --check FILE',
    '# Editors: the JSON Schema for this file is schema/answers.schema.json in the package.',
  ];
  let section: string | undefined;
  for (const question of FILE_QUESTIONS) {
    const [first, name] = question.key.includes('.') ? question.key.split('.') : [undefined, question.key];
    if (first !== section) {
      section = first;
      if (first !== undefined) {
        const declared = SECTIONS.find((s) => s.key === first);
        out.push('', ...comment('', `${declared?.help ?? ''}${whenText(declared?.when, 'Only when')}`), `${first}:`);
      }
    }
    const indent = first === undefined ? '' : '  ';
    if (first === undefined) out.push('');
    out.push(...comment(indent, describeQuestion(question, first)), `${indent}${name}:${valueText(question)}`);
  }
  return `${out.join('\n')}\n`;
}

function whenText(when: readonly Condition[] | undefined, lead: string): string {
  return when ? ` ${lead} ${conditionText(when)}.` : '';
}

function describeQuestion(question: Question, section: string | undefined): string {
  const parts = [question.help];
  const sectionWhen = SECTIONS.find((s) => s.key === section)?.when;
  const ownWhen = question.when && JSON.stringify(question.when) !== JSON.stringify(sectionWhen) ? question.when : undefined;
  if (question.required) parts.push(`Required${question.when ? ` when ${conditionText(question.when)}` : ''}: no default.`);
  else if (ownWhen) parts.push(`Only when ${conditionText(ownWhen)}.`);
  if (question.kind === 'integer') parts.push(`From ${question.min} to ${question.max}.`);
  if (question.kind === 'list') parts.push(`Each item is ${question.itemText}.`);
  if (question.defaultText) parts.push(`Default: ${question.defaultText}.`);
  if (question.example) parts.push(`Example: ${question.example}`);
  const text = parts.join(' ');
  if (question.kind !== 'choice') return text;
  const width = Math.max(...question.choices.map((c) => c.value.length));
  return [text, ...question.choices.map((c) => `  ${c.value.padEnd(width)}  ${c.description}`)].join('\n');
}

function valueText(question: Question): string {
  if (!('default' in question) || question.default === undefined) return '';
  const value = question.default;
  if (Array.isArray(value)) return ` [${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  return ` ${stringify(value).trimEnd()}`;
}

/** "# "-prefixed lines, wrapped; a line starting with two spaces is kept as it is. */
function comment(indent: string, text: string): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    if (paragraph.startsWith('  ')) {
      lines.push(`${indent}# ${paragraph}`);
      continue;
    }
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line && indent.length + 2 + line.length + 1 + word.length > WIDTH) {
        lines.push(`${indent}# ${line}`);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) lines.push(`${indent}# ${line}`);
  }
  return lines;
}
