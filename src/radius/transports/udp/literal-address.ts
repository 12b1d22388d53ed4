/**
 * The UDP sockets' name lookup: an answer goes back to the source address of its request, always
 * an address literal, so it is handed back at once; dns.lookup would defer every send by a tick.
 */
export function literalAddress(address: string, family: unknown, callback: (error: null, address: string, family: number) => void): void {
  callback(null, address, address.includes(':') ? 6 : 4);
}
