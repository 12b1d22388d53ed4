/**
 * Whether an answer is the one to our request (RFC 5452 §9.1): same ID, a response of the same
 * opcode, and the same question. Answers that are not ours are ignored by both transports.
 */
import { parseHeader, readName } from './response.js';

/** The question (or UPDATE zone) section bytes, for matching a response to its request. */
function firstQuestion(message: Buffer): string | undefined {
  if (message.length < 12 || message.readUInt16BE(4) === 0) return undefined;
  const { name, end } = readName(message, 12);
  if (end + 4 > message.length) return undefined;
  return `${name}/${message.readUInt16BE(end)}/${message.readUInt16BE(end + 2)}`;
}

/**
 * Whether `response` answers `request`: same ID, QR set, same opcode, and the same question, or
 * no question at all in an error answer (a FORMERR may come back with the header only).
 */
export function answersRequest(request: Buffer, response: Buffer): boolean {
  try {
    const asked = parseHeader(request);
    const answered = parseHeader(response);
    if (answered.id !== asked.id || !answered.qr || answered.opcode !== asked.opcode) return false;
    if (answered.qdcount === 0) return answered.rcode !== 0;
    return firstQuestion(response) === firstQuestion(request);
  } catch {
    return false;
  }
}
