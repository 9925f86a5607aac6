import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript data without types, shared with eslint.config.js.
import { LAYERS } from '../../../eslint.layers.js';

describe('the layer order that lint enforces', () => {
  it('names every folder and file directly under src/, so none escapes the import rules', () => {
    const named = new Set((LAYERS as string[][]).flat());
    const entries = readdirSync(new URL('../../../src/', import.meta.url)).map((entry) => entry.replace(/\.ts$/, ''));
    expect(entries.filter((entry) => !named.has(entry))).toEqual([]);
  });
});
