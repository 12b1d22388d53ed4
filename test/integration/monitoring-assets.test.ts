/**
 * The shipped monitoring (deploy/monitoring/): Prometheus's own promtool validates the alert rules
 * and runs their unit tests, every alert has a unit test, the Grafana dashboard queries through its
 * data source variable, and every metric the rules and the dashboard name is in a real /metrics
 * scrape of the running service after it unlisted an address.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startBind, type BindServer } from '../helpers/bind.js';
import { dnsblName, listingRecords } from '../helpers/dnsbl.js';
import { executable, freePort, havePeers, tempDir, waitFor } from '../helpers/peers.js';
import { buildAccountingRequest, sendRadius } from '../helpers/radius-packets.js';
import { NAS_SECRET, PROJECT_ROOT, serviceConfigYaml, startService, writeConfig, type ServiceHandle } from '../helpers/service.js';

const MONITORING = join(PROJECT_ROOT, 'deploy/monitoring');
const RULES = join(MONITORING, 'rbl-unlist.rules.yml');
const RULE_TESTS = join(MONITORING, 'rbl-unlist.rules.test.yml');
const DASHBOARD = join(MONITORING, 'grafana-dashboard.json');

interface Rules {
  groups: { rules: { alert?: string; expr: string }[] }[];
}
interface Dashboard {
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: { id: number; title: string; datasource: { type: string; uid: string }; targets: { expr: string }[] }[];
}

const rules = parse(readFileSync(RULES, 'utf8')) as Rules;
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const ruleExpressions = rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
const dashboardExpressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));

/** Metric names in a PromQL expression: every `name{` selector, and every bare rbl_unlist_, process_ or nodejs_ name. */
function metricNames(expression: string): string[] {
  const selectors = [...expression.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((match) => match[1]!);
  const bare = expression.match(/\b(?:rbl_unlist|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
  return [...selectors, ...bare];
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync(executable('promtool'), args, { cwd: MONITORING, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('the shipped alert rules and dashboard', () => {
  test('every alert has a unit test in the rules test file', () => {
    const alerts = rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])));
    const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const firing = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const silent = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
    expect(alerts.sort()).toEqual(['RblUnlistBackendDown', 'RblUnlistDeadLetters', 'RblUnlistJournalBehind', 'RblUnlistJournalErrors', 'RblUnlistNotReady', 'RblUnlistPacketsDiscarded', 'RblUnlistQueueGrowing']);
    for (const alert of alerts) {
      expect(firing.has(alert), `${alert} is tested firing`).toBe(true);
      expect(silent.has(alert), `${alert} is tested silent`).toBe(true);
    }
  });

  test('the dashboard queries every panel through its data source variable, with unique panel ids', () => {
    const variable = dashboard.templating.list.find((item) => item.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const panel of dashboard.panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    }
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join(' | ');
    for (const subject of ['packets by outcome and client', 'events', 'unlists by backend and outcome', 'queue depth', 'dead letters', 'latencies', 'sessions', 'memory']) {
      expect(titles).toContain(subject);
    }
  });

  describe.skipIf(!havePeers('promtool'))('with promtool', () => {
    test('promtool check rules accepts the rules file', () => {
      const { status, output } = promtool('check', 'rules', RULES);
      expect(status, output).toBe(0);
      expect(output).toContain('SUCCESS: 7 rules found');
    });

    test('promtool test rules passes the unit test of each alert', () => {
      const { status, output } = promtool('test', 'rules', RULE_TESTS);
      expect(status, output).toBe(0);
      expect(output).toContain('SUCCESS');
    });
  });

  describe.skipIf(!havePeers('named', 'tsig-keygen'))('against a live /metrics scrape', () => {
    let bind: BindServer;
    let service: ServiceHandle;
    let httpPort: number;
    let removeDir: () => void;

    beforeAll(async () => {
      bind = await startBind({ zones: [{ name: 'rbl.test', records: listingRecords('10.64.0.9', 'rbl.test', 'listed') }] });
      const temp = tempDir('monitoring-assets');
      removeDir = temp.remove;
      const radiusPort = await freePort();
      httpPort = await freePort();
      service = await startService(
        writeConfig(temp.dir, serviceConfigYaml({ radiusPort, bind: { port: bind.port, keyFile: bind.keyFile, name: 'bind' }, stateDir: `${temp.dir}/state`, httpPort, probeInterval: '200ms' })),
      );
      // One unlist, so the histograms labelled by backend have samples.
      const stop = buildAccountingRequest({ identifier: 1, secret: NAS_SECRET, attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'a1', 'Framed-IP-Address': '10.64.0.9' } });
      expect((await sendRadius(stop, radiusPort))?.[0]).toBe(5);
      await waitFor('the unlist', () => bind.query(dnsblName('10.64.0.9', 'rbl.test'), 'A').length === 0, 10_000);
      await service.waitForLog((line) => line.msg === 'unlisted');
    });

    afterAll(async () => {
      await service?.stop();
      await bind?.close();
      removeDir?.();
    });

    test('every metric the rules and the dashboard name is in the scrape', async () => {
      let scraped = new Set<string>();
      await waitFor('a scrape with the backend probed', async () => {
        const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
        scraped = new Set(text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => /^[^{ ]+/.exec(line)![0]));
        return scraped.has('rbl_unlist_backend_up') && scraped.has('rbl_unlist_backend_request_duration_seconds_bucket');
      });
      const named = new Set([...ruleExpressions, ...dashboardExpressions].flatMap(metricNames));
      expect(named.size).toBeGreaterThan(10);
      expect([...named].filter((name) => !scraped.has(name))).toEqual([]);
    });
  });
});
