/**
 * Accounting-Request attributes as src/radius/attributes.ts decodes them, built for tests of the
 * accounting stage and the operator's view: every field absent (lists empty) but what is given.
 */
import type { AccountingAttributes } from '../../src/radius/attributes.js';

/** The decoded attributes of a packet that carries only `overrides`. */
export function accountingAttributes(overrides: Partial<AccountingAttributes> = {}): AccountingAttributes {
  return {
    statusType: undefined,
    sessionId: undefined,
    userName: undefined,
    nasIpAddress: undefined,
    nasIpv6Address: undefined,
    nasIdentifier: undefined,
    framedIpAddress: undefined,
    framedIpv6Addresses: [],
    framedIpv6Prefixes: [],
    delegatedIpv6Prefixes: [],
    eventTimestamp: undefined,
    acctDelayTime: undefined,
    ...overrides,
  };
}

/** The canonical text of each address a plan unlists, in order: what the queue journals. */
export function unlistedText(plan: { readonly unlist: readonly { readonly text: string }[] }): string[] {
  return plan.unlist.map((target) => target.text);
}
