/**
 * The scopes of the session table: the (RADIUS client, NAS key) pairs its sessions come under,
 * each interned as a number while a session holds it, and the scope of each slot in 2 bytes. A
 * session is looked up by its Acct-Session-Id within its scope, so one client never reaches
 * another's sessions, and Accounting-On/Off finds a NAS's sessions by the number. Pure code.
 */
import { PagedColumn } from './columns.js';

const ODD_SCOPE = 0xffff;

/** Interned client and NAS key pairs, and the scope of each table slot; the table says which slots are live. */
export class SessionScopes {
  /** Interned scopes: one per (client, NAS key). */
  readonly #ids = new Map<string, number>();
  readonly #client: string[] = [];
  readonly #nas: string[] = [];
  /**
   * Sessions per scope. A scope no session holds is forgotten and its number used again: a client
   * may name a new NAS-Identifier in every session, and the scopes would otherwise outgrow the
   * sessions (about 700 bytes each) until a restart.
   */
  readonly #sessions: number[] = [];
  readonly #free: number[] = [];
  /** Sessions per client name: what a client's max_sessions is held to, without a walk of the scopes. */
  readonly #byClient = new Map<string, number>();
  /** The scope number; ODD_SCOPE when it does not fit 16 bits (more than 65,535 client-NAS pairs) and is in #oddScopes. */
  readonly #slotScope = new PagedColumn((n) => new Uint16Array(n));
  readonly #oddScopes = new Map<number, number>();

  /** Client and NAS key pairs that have a recorded session now. */
  get size(): number {
    return this.#ids.size;
  }

  /** The scope of this client and NAS key, if a session holds it. */
  find(client: string, nas: string): number | undefined {
    return this.#ids.get(scopeKey(client, nas));
  }

  /** The scope of this client and NAS key, a new one if no session holds it. */
  intern(client: string, nas: string): number {
    const key = scopeKey(client, nas);
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#free.pop() ?? this.#client.length;
      this.#client[id] = client;
      this.#nas[id] = nas;
      this.#sessions[id] = 0;
      this.#ids.set(key, id);
    }
    return id;
  }

  client(scope: number): string {
    return this.#client[scope]!;
  }

  nas(scope: number): string {
    return this.#nas[scope]!;
  }

  /** The clients that have a session of this NAS key now. */
  *clientsOf(nas: string): IterableIterator<string> {
    for (const scope of this.#ids.values()) if (this.#nas[scope] === nas) yield this.#client[scope]!;
  }

  /** How many sessions each client (by config name) has recorded now. */
  sessionsByClient(): Map<string, number> {
    return new Map(this.#byClient);
  }

  /** How many sessions this client has recorded now. */
  sessionsOfClient(client: string): number {
    return this.#byClient.get(client) ?? 0;
  }

  /** Makes room for slots below `count`. */
  reserve(count: number): void {
    this.#slotScope.reserve(count);
  }

  /** The scope of a live slot. */
  of(slot: number): number {
    const scope = this.#slotScope.get(slot);
    return scope === ODD_SCOPE ? this.#oddScopes.get(slot)! : scope;
  }

  /** Puts a new slot in the scope. */
  assign(slot: number, scope: number): void {
    this.#slotScope.set(slot, Math.min(scope, ODD_SCOPE));
    if (scope >= ODD_SCOPE) this.#oddScopes.set(slot, scope);
    this.#sessions[scope]!++;
    const client = this.#client[scope]!;
    this.#byClient.set(client, (this.#byClient.get(client) ?? 0) + 1);
  }

  /** Takes a slot being freed out of its scope; the scope is forgotten with its last session (then true). */
  release(slot: number): boolean {
    const scope = this.of(slot);
    this.#oddScopes.delete(slot);
    const client = this.#client[scope]!;
    const left = this.#byClient.get(client)! - 1;
    if (left > 0) this.#byClient.set(client, left);
    else this.#byClient.delete(client);
    if (--this.#sessions[scope]! > 0) return false;
    this.#ids.delete(scopeKey(client, this.#nas[scope]!));
    this.#client[scope] = '';
    this.#nas[scope] = '';
    this.#free.push(scope);
    return true;
  }
}

/** Client names come from the config and hold no NUL; the NAS key's length keeps it apart from the session id that follows in a stop key. */
export function scopeKey(client: string, nas: string): string {
  return `${client}\u0000${nas.length}:${nas}`;
}
