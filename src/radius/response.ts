/**
 * Builds the Accounting-Response (RFC 2866 §4): 20 octets, or 38 with a Message-Authenticator
 * for a Status-Server (RFC 5997 §3). A few dozen octets per answer, no 4 KiB buffer.
 */
import { messageAuthenticator, responseAuthenticator } from './authenticator.js';
import type { RadiusPacket } from './packet.js';
import { Attribute, AUTHENTICATOR_LENGTH, AUTHENTICATOR_OFFSET, Code, HEADER_LENGTH, MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH } from './protocol.js';

/** The signed Accounting-Response to `request`; `withMessageAuthenticator` for Status-Server replies. */
export function buildAccountingResponse(request: RadiusPacket, secret: Buffer, withMessageAuthenticator: boolean): Buffer {
  const length = withMessageAuthenticator ? HEADER_LENGTH + MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH : HEADER_LENGTH;
  const response = Buffer.alloc(length);
  response[0] = Code.AccountingResponse;
  response[1] = request.identifier;
  response.writeUInt16BE(length, 2);
  request.authenticator.copy(response, AUTHENTICATOR_OFFSET);
  if (withMessageAuthenticator) {
    response[HEADER_LENGTH] = Attribute.MessageAuthenticator;
    response[HEADER_LENGTH + 1] = MESSAGE_AUTHENTICATOR_ATTRIBUTE_LENGTH;
    // RFC 5997 §3 / RFC 3579 §3.2: the HMAC is taken with the request's Request Authenticator in
    // the authenticator field and the Message-Authenticator zeroed, before the Response Authenticator.
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
  responseAuthenticator(response, secret).copy(response, AUTHENTICATOR_OFFSET, 0, AUTHENTICATOR_LENGTH);
  return response;
}

