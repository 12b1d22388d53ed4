/**
 * The bench's chart as a self-contained SVG, written by hand (no dependency): line panels with
 * axes, ticks and a legend, and a horizontal bar panel on a log scale.
 */

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface LinePanel {
  readonly kind: 'line';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Horizontal or vertical reference lines, e.g. a target. */
  readonly marks?: readonly { readonly axis: 'x' | 'y'; readonly value: number; readonly label: string }[];
  readonly xMax?: number;
  readonly yMax?: number;
  /** A logarithmic x axis from xMin (default 0.1) to xMax, with ticks at 1, 2 and 5 of each decade. */
  readonly xLog?: boolean;
  readonly xMin?: number;
}

export interface BarPanel {
  readonly kind: 'bars';
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly { readonly label: string; readonly value: number; readonly color: string }[];
}

export type Panel = LinePanel | BarPanel;

const WIDTH = 900;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 80, right: 30, top: 40, bottom: 50 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Round tick steps (1, 2, 5 × 10^n) giving about `count` ticks up to max. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let value = 0; value <= max * 1.0001; value += step) out.push(Number(value.toPrecision(12)));
  return out;
}

/** 1, 2 and 5 times each power of ten between min and max. */
function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(min)); decade <= max; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const value = Number((m * decade).toPrecision(6));
      if (value >= min && value <= max) out.push(value);
    }
  }
  return out;
}

function formatNumber(value: number): string {
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (Math.abs(value) >= 1e4) return `${(value / 1e3).toPrecision(3)}k`;
  return String(Number(value.toPrecision(4)));
}

function linePanel(panel: LinePanel, top: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  // The legend sits between the title and the plot, two entries a row, so it never hides a line.
  const legendRows = Math.ceil(panel.series.length / 2);
  const plotTop = top + MARGIN.top + legendRows * 16;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom - legendRows * 16;
  const all = panel.series.flatMap((s) => s.points);
  const xMax = panel.xMax ?? Math.max(1e-9, ...all.map((p) => p[0]));
  const yMax = panel.yMax ?? Math.max(1e-9, ...all.map((p) => p[1])) * 1.1;
  const xMin = panel.xLog ? (panel.xMin ?? 0.1) : 0;
  const x = panel.xLog
    ? (value: number): number => MARGIN.left + ((Math.log10(Math.min(Math.max(value, xMin), xMax)) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW
    : (value: number): number => MARGIN.left + (Math.min(value, xMax) / xMax) * plotW;
  const y = (value: number): number => plotTop + plotH - (Math.min(value, yMax) / yMax) * plotH;
  const dash = (series: Series): string => (series.dashed ? ' stroke-dasharray="6 4"' : '');
  const out: string[] = [`<text x="${MARGIN.left}" y="${top + 24}" class="title">${escape(panel.title)}</text>`];
  panel.series.forEach((series, index) => {
    const lx = MARGIN.left + (index % 2) * (plotW / 2);
    const ly = top + MARGIN.top + Math.floor(index / 2) * 16;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${dash(series)}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" class="legend">${escape(series.label)}</text>`);
  });
  for (const tick of ticks(yMax)) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(tick)}" y2="${y(tick)}" class="grid"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" class="tick" text-anchor="end">${formatNumber(tick)}</text>`);
  }
  for (const tick of panel.xLog ? logTicks(xMin, xMax) : ticks(xMax, 8)) {
    out.push(`<text x="${x(tick)}" y="${plotTop + plotH + 16}" class="tick" text-anchor="middle">${formatNumber(tick)}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${plotTop}" width="${plotW}" height="${plotH}" class="frame"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${top + PANEL_HEIGHT - 10}" class="axis" text-anchor="middle">${escape(panel.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${plotTop + plotH / 2}) rotate(-90)" class="axis" text-anchor="middle">${escape(panel.yLabel)}</text>`);
  for (const mark of panel.marks ?? []) {
    if (mark.axis === 'y') {
      out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(mark.value)}" y2="${y(mark.value)}" class="mark"/>`);
      out.push(`<text x="${MARGIN.left + plotW - 4}" y="${y(mark.value) - 4}" class="marklabel" text-anchor="end">${escape(mark.label)}</text>`);
    } else {
      out.push(`<line x1="${x(mark.value)}" x2="${x(mark.value)}" y1="${plotTop}" y2="${plotTop + plotH}" class="mark"/>`);
      out.push(`<text x="${x(mark.value) - 4}" y="${plotTop + plotH - 6}" class="marklabel" text-anchor="end">${escape(mark.label)}</text>`);
    }
  }
  for (const series of panel.series) {
    if (series.points.length === 0) continue;
    const d = series.points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${series.color}" stroke-width="1.8"${dash(series)}/>`);
  }
  return out.join('\n');
}

function barPanel(panel: BarPanel, top: number): string {
  const labelWidth = 260;
  const plotLeft = MARGIN.left + labelWidth - 60;
  const plotW = WIDTH - plotLeft - MARGIN.right - 70;
  const rowH = Math.min(34, (PANEL_HEIGHT - MARGIN.top - MARGIN.bottom) / Math.max(1, panel.bars.length));
  const values = panel.bars.map((bar) => Math.max(bar.value, 1));
  const low = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const x = (value: number): number => plotLeft + ((Math.log10(Math.max(value, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low) || 1)) * plotW;
  const out: string[] = [`<text x="${MARGIN.left}" y="${top + 24}" class="title">${escape(panel.title)}</text>`];
  const plotBottom = top + MARGIN.top + rowH * panel.bars.length;
  for (let decade = low; decade <= high * 1.0001; decade *= 10) {
    out.push(`<line x1="${x(decade)}" x2="${x(decade)}" y1="${top + MARGIN.top}" y2="${plotBottom}" class="grid"/>`);
    out.push(`<text x="${x(decade)}" y="${plotBottom + 16}" class="tick" text-anchor="middle">${formatNumber(decade)}</text>`);
  }
  out.push(`<text x="${plotLeft + plotW / 2}" y="${plotBottom + 36}" class="axis" text-anchor="middle">${escape(panel.unit)} (log scale)</text>`);
  panel.bars.forEach((bar, index) => {
    const by = top + MARGIN.top + index * rowH;
    out.push(`<text x="${plotLeft - 8}" y="${by + rowH / 2 + 4}" class="legend" text-anchor="end">${escape(bar.label)}</text>`);
    out.push(`<rect x="${plotLeft}" y="${by + 4}" width="${Math.max(1, x(bar.value) - plotLeft).toFixed(1)}" height="${rowH - 8}" fill="${bar.color}"/>`);
    out.push(`<text x="${x(bar.value) + 6}" y="${by + rowH / 2 + 4}" class="legend">${formatNumber(Math.round(bar.value))}</text>`);
  });
  return out.join('\n');
}

/** The whole SVG document, panels stacked. */
export function renderChart(title: string, subtitle: string, panels: readonly Panel[]): string {
  const height = 60 + panels.length * PANEL_HEIGHT;
  const body = panels.map((panel, index) => {
    const top = 50 + index * PANEL_HEIGHT;
    return panel.kind === 'line' ? linePanel(panel, top) : barPanel(panel, top);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<style>
.title { font-size: 15px; font-weight: bold; fill: #222; }
.subtitle { font-size: 12px; fill: #555; }
.tick { font-size: 11px; fill: #555; }
.axis { font-size: 12px; fill: #333; }
.legend { font-size: 12px; fill: #222; }
.grid { stroke: #e4e4e4; stroke-width: 1; }
.frame { fill: none; stroke: #999; stroke-width: 1; }
.mark { stroke: #c0392b; stroke-width: 1.2; stroke-dasharray: 3 3; }
.marklabel { font-size: 11px; fill: #c0392b; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${MARGIN.left}" y="22" class="title">${escape(title)}</text>
<text x="${MARGIN.left}" y="40" class="subtitle">${escape(subtitle)}</text>
${body.join('\n')}
</svg>
`;
}
