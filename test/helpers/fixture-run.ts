/**
 * This build on a copy of a fixture's state.dir (test/fixtures/state-0.*), against a real BIND that
 * holds the fixture's listings: the set-up every upgrade test shares. Registers its own beforeAll
 * and afterAll, so call it inside the test's describe.
 */
import { afterAll, beforeAll } from 'vitest';
import { startBind, type BindServer } from './bind.js';
import { dnsblName, listingsOf } from './dnsbl.js';
import { scrapeMetrics, sample } from './metrics.js';
import { copyFixtureState, FIXTURE_ZONE, fixtureConfigYaml, fixtureNas } from './old-state.js';
import { freePort, tempDir } from './peers.js';
import { writeConfig, type ServiceHandle } from './service.js';

export interface FixtureRun {
  /** BIND serving FIXTURE_ZONE with the fixture's listings. */
  readonly bind: BindServer;
  /** The copy of the fixture's state.dir the service runs on. */
  readonly state: string;
  /** The service's config file. */
  readonly config: string;
  /** The service the test started, if any: stopped with SIGKILL after the tests. */
  service: ServiceHandle | undefined;
  /** A NAS sending to the service: resolves once a correct Accounting-Response came back. */
  readonly account: ReturnType<typeof fixtureNas>;
  /** Whether BIND lists the address (its A record is there). */
  listed(address: string): boolean;
  /** The value of one /metrics line (`name{labels}`). */
  metric(line: string): Promise<number>;
}

/**
 * Sets up a run of `fixture` (state-0.1, state-0.2, ...) whose BIND lists `listings`. `ack` is
 * the config's state.ack; `metrics`, an HTTP endpoint to read them from.
 */
export function useFixtureRun(fixture: string, listings: () => readonly string[], options: { readonly ack: 'journal' | 'unlisted'; readonly metrics: boolean }): FixtureRun {
  let bind: BindServer | undefined;
  let temp: { dir: string; remove: () => void } | undefined;
  let state = '';
  let config = '';
  let port = 0;
  let httpPort: number | undefined;
  const run: FixtureRun = {
    get bind() {
      if (!bind) throw new Error('BIND is not started yet: use the run inside a test');
      return bind;
    },
    get state() {
      return state;
    },
    get config() {
      return config;
    },
    service: undefined,
    account: fixtureNas(() => port),
    listed: (address) => run.bind.query(dnsblName(address, FIXTURE_ZONE), 'A').includes('127.0.0.2'),
    metric: async (line) => {
      if (httpPort === undefined) throw new Error('this run has no HTTP endpoint: pass metrics: true');
      return sample(await scrapeMetrics(httpPort), line);
    },
  };

  beforeAll(async () => {
    bind = await startBind({ zones: [{ name: FIXTURE_ZONE, records: listingsOf([...listings()], FIXTURE_ZONE) }] });
    temp = tempDir(fixture);
    state = copyFixtureState(fixture, temp.dir);
    port = await freePort();
    httpPort = options.metrics ? await freePort() : undefined;
    config = writeConfig(temp.dir, fixtureConfigYaml({ radiusPort: port, bind, stateDir: state, ack: options.ack, ...(httpPort === undefined ? {} : { httpPort }) }));
  });

  afterAll(async () => {
    await run.service?.stop('SIGKILL');
    await bind?.close();
    temp?.remove();
  });

  return run;
}
