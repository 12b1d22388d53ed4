/**
 * URL and body templates of the generic HTTP backend: {address}, {name} and {zone} placeholders.
 * Pure code.
 */

/** The values one request substitutes: the target as text, one DNSBL owner name, the zone. */
export interface TemplateValues {
  readonly address: string;
  readonly name: string;
  readonly zone: string;
}

const PLACEHOLDER = /\{(address|name|zone)\}/g;

/**
 * What is wrong with the templates of a generic backend, or undefined: each request must name its
 * target ({address} or {name}) in the URL or the body, or every address of a batch would become one
 * request naming none, whose success would count for them all; and a {word} in the URL that is no
 * placeholder ({ip}) is a typo that would be sent as it is. A body may hold braces of its own (a
 * GraphQL selection such as `{ok}`), so there only the target is required.
 */
export function templateProblem(url: string, body: string | undefined): string | undefined {
  const unknown = url.match(/\{[A-Za-z_][\w-]*\}/g)?.find((word) => !/^\{(address|name|zone)\}$/.test(word));
  if (unknown) return `${unknown} is not a placeholder: use {address}, {name} or {zone}`;
  if (!/\{(address|name)\}/.test(`${url} ${body ?? ''}`)) return 'name the target with {address} or {name} in the url or the body: a request that names none would count for every address';
  return undefined;
}

/** The URL template with each placeholder replaced by its URL-encoded value. */
export function expandUrl(template: string, values: TemplateValues): string {
  return template.replace(PLACEHOLDER, (_, key: keyof TemplateValues) => encodeURIComponent(values[key]));
}

/** The body template with each placeholder replaced, escaped for a JSON string when `json` is true. */
export function expandBody(template: string, values: TemplateValues, json: boolean): string {
  return template.replace(PLACEHOLDER, (_, key: keyof TemplateValues) => (json ? JSON.stringify(values[key]).slice(1, -1) : values[key]));
}

/** Whether a Content-Type names JSON (application/json, application/*+json). */
export function isJsonContentType(contentType: string): boolean {
  return /^application\/([\w.-]+\+)?json\b/i.test(contentType.trim());
}

/**
 * The URL a probe GETs: the template's path up to the first segment that needs a target
 * ({address} or {name}), with {zone} filled in and the query dropped. For
 * `https://api/v1/zones/{zone}/entries/{name}` that is `https://api/v1/zones/rbl.example.net/entries/`.
 */
export function probeUrl(template: string, zone: string): string {
  const queryStart = template.search(/[?#]/);
  const path = queryStart === -1 ? template : template.slice(0, queryStart);
  const targetAt = path.search(/\{(address|name)\}/);
  const base = targetAt === -1 ? path : path.slice(0, path.lastIndexOf('/', targetAt) + 1);
  return expandUrl(base, { address: '', name: '', zone });
}
