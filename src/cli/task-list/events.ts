/**
 * The task list's events: what every mode shows and what run.log keeps. One step is run here,
 * whatever draws it, so that all modes report the same start/say/transfer/done/skipped/failed.
 */
import type { Phase } from '../../plan/phases.js';
import type { StepProgress } from '../../steps/step.js';
import { escapeControls } from '../../report/escape.js';
import { TransferMeter } from './transfer-meter.js';

export type StepEventKind = 'start' | 'say' | 'transfer' | 'done' | 'skipped' | 'failed';

export interface StepEvent {
  time: Date;
  phase: Phase;
  step: string;
  event: StepEventKind;
  /** start: the step's title; say: the line; transfer: the formatted progress line; done: its duration. */
  text?: string;
  /** transfer: what is moving (an image's name, a volume's); several may move at once. */
  label?: string;
  doneBytes?: number;
  totalBytes?: number;
  /** failed: the error's message (already free of secrets: steps never put one in a message). */
  message?: string;
}

export type EventSink = (event: StepEvent) => void;

/** What runs one step: the task list's view of a migration step. */
export interface RunnableStep {
  id: string;
  title: string;
  phase: Phase;
  run(progress: StepProgress): Promise<'done' | 'skipped'>;
}

/**
 * A label's transfer is passed on at most once per this long; the updates in between only
 * replace its latest figures. Streams report every chunk they read (thousands a second on a
 * fast save), and an event, a Date and a formatted line per chunk was most of what the run
 * allocated while saving. Finer than every sink's own interval (the screen's included).
 */
const TRANSFER_EVENTS_EVERY_MS = 100;

/** A label's latest transfer figures, kept in place between the events passed on. */
interface LatestTransfer {
  doneBytes: number;
  totalBytes?: number;
  /** When these figures came. */
  at: number;
  /** When the label's last event was passed on. */
  sentAt: number;
  /** The figures arrived after the last event passed on, and are not shown yet. */
  held: boolean;
}

/**
 * Runs one step, telling `emit` everything it does; a throw is reported as `failed` and passed
 * on unchanged (the caller maps OperatorError to exit codes).
 */
export async function runStepWithEvents(step: RunnableStep, emit: EventSink): Promise<'done' | 'skipped'> {
  const meter = new TransferMeter();
  const base = { phase: step.phase, step: step.id };
  const started = Date.now();
  const latest = new Map<string, LatestTransfer>();
  const sendTransfer = (label: string, figures: LatestTransfer) => {
    figures.sentAt = figures.at;
    figures.held = false;
    const update = { label, doneBytes: figures.doneBytes, totalBytes: figures.totalBytes };
    emit({ ...base, time: new Date(figures.at), event: 'transfer', text: meter.update(update, figures.at), ...update });
  };
  // Held figures go out before the step's next other event, so that the last state is always shown.
  const sendHeld = () => {
    for (const [label, figures] of latest) if (figures.held) sendTransfer(label, figures);
  };
  // Every mode draws these texts (and run.log keeps them): names in them are shown, never obeyed as control codes.
  emit({ ...base, time: new Date(), event: 'start', text: escapeControls(step.title) });
  const progress: StepProgress = {
    say: (text) => {
      sendHeld();
      emit({ ...base, time: new Date(), event: 'say', text: escapeControls(text) });
    },
    transfer: ({ label, doneBytes, totalBytes }) => {
      const now = Date.now();
      let figures = latest.get(label);
      if (!figures) latest.set(label, (figures = { doneBytes, totalBytes, at: now, sentAt: -Infinity, held: true }));
      figures.doneBytes = doneBytes;
      figures.totalBytes = totalBytes;
      figures.at = now;
      figures.held = true;
      const complete = totalBytes !== undefined && doneBytes === totalBytes;
      if (complete || now - figures.sentAt >= TRANSFER_EVENTS_EVERY_MS) sendTransfer(label, figures);
    },
  };
  let outcome: 'done' | 'skipped';
  try {
    outcome = await step.run(progress);
  } catch (error) {
    sendHeld();
    emit({ ...base, time: new Date(), event: 'failed', message: escapeControls(errorMessage(error)) });
    throw error;
  }
  sendHeld();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  emit({ ...base, time: new Date(), event: outcome, text: outcome === 'done' ? `${seconds} s` : 'already done' });
  return outcome;
}

/** A thrown value's message, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Passes events on, but at most one transfer per step and label every `intervalMs`: the first,
 * then one per interval, then the final one (a complete transfer, or the last one held back,
 * sent just before the step's next other event). Two images saved at once each get their
 * updates. Logs and Ansible output stay readable on a 1 GB save.
 */
export function throttleTransfers(sink: EventSink, intervalMs: number): EventSink {
  // Per step ("phase/step"), per label: when one was last sent, and the one held back.
  const lastSent = new Map<string, Map<string, number>>();
  const held = new Map<string, Map<string, StepEvent>>();
  const of = <T>(maps: Map<string, Map<string, T>>, step: string): Map<string, T> => {
    let byLabel = maps.get(step);
    if (!byLabel) maps.set(step, (byLabel = new Map()));
    return byLabel;
  };
  return (event) => {
    const step = `${event.phase}/${event.step}`;
    if (event.event !== 'transfer') {
      for (const pending of held.get(step)?.values() ?? []) sink(pending);
      held.delete(step);
      if (event.event !== 'say' && event.event !== 'start') lastSent.delete(step);
      sink(event);
      return;
    }
    const label = event.label ?? '';
    const at = event.time.getTime();
    const previous = lastSent.get(step)?.get(label);
    const complete = event.totalBytes !== undefined && event.doneBytes === event.totalBytes;
    if (previous === undefined || at - previous >= intervalMs || complete) {
      held.get(step)?.delete(label);
      of(lastSent, step).set(label, at);
      sink(event);
    } else {
      of(held, step).set(label, event);
    }
  };
}

/** The event as one line of text without a timestamp: "[export] save-images: Saving image app/web:1.0 (212 MB)…". */
export function describeEvent(event: StepEvent): string {
  const where = `[${event.phase}] ${event.step}`;
  switch (event.event) {
    case 'start':
      return `${where}: started: ${event.text ?? ''}`;
    case 'say':
    case 'transfer':
      return `${where}: ${event.text ?? ''}`;
    case 'done':
      return `${where}: done${event.text ? ` in ${event.text}` : ''}`;
    case 'skipped':
      return `${where}: skipped (${event.text ?? 'already done'})`;
    case 'failed':
      return `${where}: FAILED: ${event.message ?? ''}`;
  }
}

/** The event as one plain line: ISO time to the second, then describeEvent. No colours or cursor codes. */
export function plainLine(event: StepEvent): string {
  return `${event.time.toISOString().replace(/\.\d{3}Z$/, 'Z')} ${oneLine(describeEvent(event))}\n`;
}

/** The event as one JSON object on one line; absent fields are left out. */
export function jsonLine(event: StepEvent): string {
  const { time, ...rest } = event;
  return `${JSON.stringify({ time: time.toISOString(), ...rest })}\n`;
}

/** A message with newlines (a daemon's multi-line error) still makes one line per event. */
export function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' | ');
}
