/**
 * The text of a NAS-IP-Address, made once per address: a network has a few NASes and each sends
 * thousands of packets, and the text of each packet's NAS goes into its event, its journal record,
 * its session and the address history. One shared string instead of one per packet is less for V8's
 * young-generation collector to copy and for its old generation to keep (issue 13).
 */
import { ipv4TextAt } from '../net/address.js';

/** Far more NASes than a network has; past it the texts are made afresh, so a flood of forged addresses costs no memory. */
const MOST_REMEMBERED = 4096;

const texts = new Map<number, string>();

/** The dotted text of the four octets at `start`. */
export function nasAddressText(bytes: Uint8Array, start: number): string {
  const value = ((bytes[start]! << 24) | (bytes[start + 1]! << 16) | (bytes[start + 2]! << 8) | bytes[start + 3]!) >>> 0;
  let text = texts.get(value);
  if (text === undefined) {
    text = ipv4TextAt(bytes, start);
    if (texts.size < MOST_REMEMBERED) texts.set(value, text);
  }
  return text;
}
