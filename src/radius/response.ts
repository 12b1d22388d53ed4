/**
 * Builds the Accounting-Response (RFC 2866 §4): the header, a Message-Authenticator for a
 * Status-Server (RFC 5997 §3), and every Proxy-State of the request (RFC 2865 §5.33).
 */
import { messageAuthenticator, signResponse } from './authenticator.js';
import { proxyStateAttributes, type RadiusPacket } from './packet.js';
import { Attribute, AUTHENTICATOR_OFFSET, Code, HEADER_LENGTH, MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH } from './protocol.js';

/**
 * The signed Accounting-Response to `request`; `withMessageAuthenticator` for Status-Server replies.
 * RFC 2865 §5.33 and RFC 2866 §4.2: the request's Proxy-States are copied unmodified and in order,
 * so a proxy in front of us can match the answer to its own request; they are covered by the
 * Response Authenticator (and by the Message-Authenticator when there is one). The response is never
 * longer than the request: a Status-Server already carries the 18 octets of its own Message-Authenticator.
 */
export function buildAccountingResponse(request: RadiusPacket, secret: Buffer, withMessageAuthenticator: boolean): Buffer {
  const proxyStates = proxyStateAttributes(request);
  const messageAuthenticatorLength = withMessageAuthenticator ? MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH : 0;
  let length = HEADER_LENGTH + messageAuthenticatorLength;
  for (const attribute of proxyStates) length += attribute.length;
  // A zeroed slice of Node's shared pool: one per packet, a Buffer of its own would cost a backing
  // store each.
  const response = Buffer.allocUnsafe(length).fill(0);
  response[0] = Code.AccountingResponse;
  response[1] = request.identifier;
  response.writeUInt16BE(length, 2);
  request.authenticator.copy(response, AUTHENTICATOR_OFFSET);
  let offset = HEADER_LENGTH + messageAuthenticatorLength;
  for (const attribute of proxyStates) offset += attribute.copy(response, offset);
  if (withMessageAuthenticator) {
    response[HEADER_LENGTH] = Attribute.MessageAuthenticator;
    response[HEADER_LENGTH + 1] = MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH;
    // RFC 5997 §3 / RFC 3579 §3.2: the HMAC is taken over the whole response, Proxy-States included,
    // with the request's Request Authenticator in the authenticator field and the
    // Message-Authenticator zeroed, before the Response Authenticator.
    const view: RadiusPacket = {
      code: Code.AccountingResponse,
      identifier: request.identifier,
      length,
      bytes: response,
      authenticator: request.authenticator,
      messageAuthenticatorOffset: HEADER_LENGTH + 2,
    };
    messageAuthenticator(view, secret, request.authenticator).copy(response, HEADER_LENGTH + 2);
  }
  signResponse(response, secret);
  return response;
}
