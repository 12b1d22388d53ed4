/**
 * Text from outside (a packet's User-Name, a NAS's session id, an API's error body, a zone's TXT
 * reason) made safe to print on a terminal: control characters are shown as `\xNN` instead of
 * acting. A subscriber picks their own PPP user name, and an escape sequence in it (ESC [ 2 J, a
 * title change, an 8-bit CSI) would otherwise clear, rewrite or hide what an operator reads.
 * Pure code.
 */

/** The text with C0 controls (but a tab), DEL and C1 controls written as `\xNN`. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point.
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, controlEscape);
}

/** As {@link printable}, but line feeds stay: for a message of this program's making that spans lines. */
export function printableLines(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point.
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, controlEscape);
}

function controlEscape(character: string): string {
  return `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
