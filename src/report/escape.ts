/**
 * Names that come from containers (file names in volumes, labels, image tags) may hold
 * terminal control sequences: an ESC that retitles the window or moves the cursor, a CR that
 * rewrites the line. Every human-readable output shows them as visible escapes instead. C0
 * controls and DEL read as `\xHH`; C1 controls as `\u00HH`, which is also a valid escape inside
 * a JSON string, so JSON output stays valid JSON with the same values. Tab and newline are kept.
 */

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS_BUT_COLOUR = /(\x1b\[[0-9;]*m)|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  const hex = code.toString(16).padStart(2, '0');
  return code >= 0x80 ? `\\u00${hex}` : `\\x${hex}`;
}

/** `text` with every control character but tab and newline shown as a visible escape. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, visible);
}

/**
 * The same for a whole block written to the terminal, keeping colour codes (SGR, `ESC[…m`, which
 * only colour text) so that the tool's own colours still work; untrusted parts are escaped
 * before colour is added (formatEntriesText), so a name cannot bring its own.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(CONTROLS_BUT_COLOUR, (match: string, colour: string | undefined) => colour ?? visible(match));
}
