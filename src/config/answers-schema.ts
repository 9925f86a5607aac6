/**
 * The JSON Schema (draft-07, the draft editors support best) of the answers file, generated
 * from the declarations. schema/answers.schema.json is this, written by scripts/gen-schema.mjs;
 * a unit test keeps the two equal. It describes a complete file: target is required, and so
 * are the keys a run needs given the others (directLvm.device for direct-lvm, …).
 */
import {
  FILE_QUESTIONS,
  SECTIONS,
  allowedText,
  conditionText,
  questionFor,
  type Condition,
  type Question,
} from './questions.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The answers file's JSON Schema. */
export function answersJsonSchema(): JsonObject {
  const properties: JsonObject = {};
  for (const question of FILE_QUESTIONS) {
    const [first, name] = question.key.split('.') as [string, string | undefined];
    if (name === undefined) {
      properties[first] = propertySchema(question);
      continue;
    }
    if (!properties[first]) {
      const section = SECTIONS.find((s) => s.key === first);
      properties[first] = {
        description: `${section?.help ?? ''}${section?.when ? ` Only when ${conditionText(section.when)}.` : ''}`,
        type: ['object', 'null'],
        additionalProperties: false,
        properties: {},
      };
    }
    ((properties[first] as JsonObject).properties as JsonObject)[name] = propertySchema(question);
  }
  const conditional = FILE_QUESTIONS.filter((q) => q.required && q.when).map((q) => ({
    if: conditionsSchema(q.when!),
    then: nested(q.key, { type: 'object', required: [q.key.split('.').pop()!] }, presentSchema(q)),
  }));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'devmapper-migrate answers file',
    description:
      'Answers for an unattended devmapper-migrate run. Every key is optional except target; a key left ' +
      'out, or null, takes its default. "devmapper-migrate answers --template" prints every key.',
    type: 'object',
    additionalProperties: false,
    required: FILE_QUESTIONS.filter((q) => q.required && !q.when).map((q) => q.key),
    properties,
    allOf: conditional,
  };
}

function propertySchema(question: Question): JsonObject {
  const nullable = !(question.required && !question.when);
  const types = (type: string): Json => (nullable ? [type, 'null'] : type);
  const schema: JsonObject = { description: describe(question) };
  switch (question.kind) {
    case 'choice':
      schema.enum = [...question.choices.map((c) => c.value), ...(nullable ? [null] : [])];
      break;
    case 'boolean':
      schema.type = types('boolean');
      break;
    case 'integer':
      Object.assign(schema, { type: types('integer'), minimum: question.min, maximum: question.max });
      break;
    case 'string':
      Object.assign(schema, { type: types('string'), maxLength: question.maxLength });
      if (question.pattern) schema.pattern = question.pattern;
      break;
    case 'list':
      Object.assign(schema, {
        type: types('array'),
        maxItems: question.maxItems,
        items: { type: 'string', minLength: 1, maxLength: question.itemMaxLength, pattern: question.itemPattern },
      });
      break;
  }
  if ('default' in question && question.default !== undefined) {
    schema.default = Array.isArray(question.default) ? [...question.default] : (question.default as Json);
  }
  if (question.example) schema.examples = [question.example];
  return schema;
}

function describe(question: Question): string {
  const parts = [question.help];
  if (question.kind === 'choice') {
    parts.push(question.choices.map((c) => `${c.value}: ${c.description}.`).join(' '));
  } else if (question.kind !== 'string' || question.patternText) {
    parts.push(`Must be ${allowedText(question)}.`);
  }
  if (question.required) parts.push(question.when ? `Required when ${conditionText(question.when)}.` : 'Required.');
  if (question.defaultText) parts.push(`Default: ${question.defaultText}.`);
  return parts.join(' ');
}

/** A given answer to a required key: not null, and not "" for strings. */
function presentSchema(question: Question): JsonObject {
  switch (question.kind) {
    case 'string':
      return { type: 'string', minLength: 1 };
    case 'list':
      return { type: 'array', minItems: 1 };
    case 'choice':
      return { type: 'string' };
    default:
      return { type: question.kind };
  }
}

/** `{ properties: { a: { ...inner } }, required: [a] }` for the dot path's parents. */
function nested(key: string, parent: JsonObject, leaf: JsonObject): JsonObject {
  const parts = key.split('.');
  const name = parts.pop()!;
  let schema: JsonObject = { ...parent, properties: { [name]: leaf } };
  for (const part of parts.reverse()) schema = { type: 'object', required: [part], properties: { [part]: schema } };
  return schema;
}

function conditionsSchema(conditions: readonly Condition[]): JsonObject {
  const all = conditions.map((condition): JsonObject => {
    // "Absent" would match too when the default is the value tested: not expressible simply.
    const declared = questionFor(condition.key);
    if (!('equals' in condition) || (declared && 'default' in declared && declared.default === condition.equals)) {
      throw new Error(`no JSON Schema for the condition on ${condition.key}`);
    }
    const parts = condition.key.split('.');
    const name = parts.pop()!;
    let schema: JsonObject = { required: [name], properties: { [name]: { const: condition.equals } } };
    for (const part of parts.reverse()) schema = { required: [part], properties: { [part]: { type: 'object', ...schema } } };
    return schema;
  });
  return all.length === 1 ? all[0]! : { allOf: all };
}
