/** Results: ratios, geometric means, and the JSON / Markdown / SVG outputs. */
import { geomean, type Cell } from './harness.js';
import { RUNNER_NAMES, type RunnerName } from './runners.js';

/** Ratios per guest, from median whole-process wall times. */
export interface Ratios {
  /** interp time / bt time (> 1: bt is faster). */
  btSpeedup?: number;
  /** bt time / other runner's time (> 1: bt is slower). */
  btVsNative?: number;
  btVsQemu?: number;
  btVsV86?: number;
  interpVsNative?: number;
  qemuVsNative?: number;
  v86VsNative?: number;
}
export const RATIO_KEYS: (keyof Ratios)[] = ['btSpeedup', 'btVsNative', 'btVsQemu', 'btVsV86', 'interpVsNative', 'qemuVsNative', 'v86VsNative'];

export interface RunnerInfo {
  name: RunnerName;
  description: string;
  used: boolean;
  skipReason?: string;
}

export interface Results {
  schema: 1;
  date: string;
  options: { quick: boolean; reps: number; filter: string | null; runners: RunnerName[] };
  machine: Record<string, string | number>;
  git: { commit: string; dirty: boolean };
  runners: RunnerInfo[];
  guests: { name: string; kind: string; iterations: number }[];
  cells: Cell[];
  ratios: Record<string, Ratios>;
  geomean: Ratios;
  /** The same ratios from CPU time (user + system, all threads) instead of wall time. */
  cpuRatios: Record<string, Ratios>;
  cpuGeomean: Ratios;
  /** Per runner: time of mix-codepage / time of mix (data sharing code pages vs on its own pages). */
  codepage: Partial<Record<RunnerName, number>>;
  failures: number;
}

export function cellOf(cells: Cell[], runner: RunnerName, guest: string): Cell | undefined {
  return cells.find((c) => c.runner === runner && c.guest === guest);
}

export type Metric = 'wall' | 'cpu';

function med(cells: Cell[], runner: RunnerName, guest: string, metric: Metric = 'wall'): number | undefined {
  const c = cellOf(cells, runner, guest);
  return c && c.status === 'ok' ? (metric === 'wall' ? c.medianMs : c.cpuMedianMs) : undefined;
}

export function computeRatios(cells: Cell[], guests: string[], metric: Metric = 'wall'): { ratios: Record<string, Ratios>; geomean: Ratios; codepage: Results['codepage'] } {
  const ratios: Record<string, Ratios> = {};
  const div = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  for (const g of guests) {
    const t = (r: RunnerName): number | undefined => med(cells, r, g, metric);
    const r: Ratios = {
      btSpeedup: div(t('interp'), t('bt')),
      btVsNative: div(t('bt'), t('native')),
      btVsQemu: div(t('bt'), t('qemu')),
      btVsV86: div(t('bt'), t('v86')),
      interpVsNative: div(t('interp'), t('native')),
      qemuVsNative: div(t('qemu'), t('native')),
      v86VsNative: div(t('v86'), t('native')),
    };
    for (const k of RATIO_KEYS) if (r[k] === undefined) delete r[k];
    ratios[g] = r;
  }
  const gm: Ratios = {};
  for (const k of RATIO_KEYS) {
    const v = geomean(guests.map((g) => ratios[g][k]).filter((x): x is number => x !== undefined));
    if (Number.isFinite(v)) gm[k] = v;
  }
  const codepage: Results['codepage'] = {};
  for (const r of RUNNER_NAMES) {
    const v = div(med(cells, r, 'mix-codepage', metric), med(cells, r, 'mix', metric));
    if (v !== undefined) codepage[r] = v;
  }
  return { ratios, geomean: gm, codepage };
}

// ---------------------------------------------------------------- Markdown

const fmtS = (ms: number | undefined): string => (ms === undefined ? '–' : ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2));
const fmtX = (x: number | undefined): string => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtPct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`);

function timeCell(res: Results, runner: RunnerName, guest: string): string {
  const info = res.runners.find((r) => r.name === runner);
  if (!info?.used) return 'skip';
  const c = cellOf(res.cells, runner, guest);
  if (!c) return '–';
  if (c.status === 'failed') return '**FAIL**';
  if (c.status === 'n/a' || c.status === 'skipped') return '–';
  return fmtS(c.medianMs);
}

export function toMarkdown(res: Results): string {
  const L: string[] = [];
  L.push(`# x86vm benchmarks`);
  L.push('');
  L.push(`${res.date} · git ${res.git.commit.slice(0, 10)}${res.git.dirty ? ' (dirty)' : ''} · ${res.machine.cpu} × ${res.machine.cores} · Node ${res.machine.node} · ` +
    `${res.options.quick ? 'quick' : 'full'} run, ${res.options.reps} repetition${res.options.reps > 1 ? 's' : ''} (median)`);
  L.push('');
  L.push('Wall time of the whole process in seconds (start-up, boot and translation included), median of the repetitions. ' +
    'Ratios are time ÷ time: **bt ÷ X > 1 means bt is slower than X**; "bt speed-up" = interp time ÷ bt time. ' +
    'MIPS = guest instructions ÷ time inside `Machine.run`. "compile" = bt compile time ÷ run time; "blocks" = blocks compiled to wasm.');
  L.push('');
  L.push('| guest | iterations | interp s | bt s | native s | qemu s | v86 s | interp MIPS | bt MIPS | bt speed-up | bt ÷ native | bt ÷ qemu | bt ÷ v86 | compile | blocks |');
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const g of res.guests) {
    const r = res.ratios[g.name] ?? {};
    const bt = cellOf(res.cells, 'bt', g.name), ip = cellOf(res.cells, 'interp', g.name);
    const ok = (c: Cell | undefined): Cell | undefined => (c?.status === 'ok' ? c : undefined);
    L.push(`| ${g.name} | ${g.kind === 'linux' ? 'boot' : g.iterations} | ${RUNNER_NAMES.map((n) => timeCell(res, n, g.name)).join(' | ')} | ` +
      `${ok(ip)?.mips?.toFixed(0) ?? '–'} | ${ok(bt)?.mips?.toFixed(0) ?? '–'} | ${fmtX(r.btSpeedup)} | ${fmtX(r.btVsNative)} | ${fmtX(r.btVsQemu)} | ${fmtX(r.btVsV86)} | ` +
      `${fmtPct(ok(bt)?.compileShare)} | ${ok(bt)?.blocksCompiled ?? '–'} |`);
  }
  const gm = res.geomean;
  const suite = res.guests.some((g) => g.kind !== 'linux');
  if (suite) L.push(`| **geometric mean** | | | | | | | | | **${fmtX(gm.btSpeedup)}** | **${fmtX(gm.btVsNative)}** | **${fmtX(gm.btVsQemu)}** | **${fmtX(gm.btVsV86)}** | | |`);
  L.push('');
  const lb = res.guests.find((g) => g.kind === 'linux');
  if (lb) {
    const c = (n: RunnerName): Cell | undefined => cellOf(res.cells, n, lb.name);
    const parts = RUNNER_NAMES.map((n) => {
      const x = c(n);
      if (!x || x.status === 'n/a') return null;
      if (x.status === 'ok') return `${n} ${fmtS(x.medianMs)} s${x.processMedianMs !== undefined ? ` (whole process ${fmtS(x.processMedianMs)} s${x.instructions ? `, ${(x.instructions / 1e9).toFixed(2)} billion instructions` : ''})` : ''}`;
      return `${n} ${x.status === 'failed' ? '**FAIL**' : 'skipped'} (${x.reason ?? ''})`;
    }).filter((x): x is string => x !== null);
    L.push(`**${lb.name}**: Debian i386 686 kernel + busybox initramfs (images/build/linux), 128 MiB, same kernel command line everywhere (v86 through SeaBIOS); ` +
      `time from process start to \`X86VM-READY\` on the serial console (not in the geometric means; its MIPS are to the marker): ${parts.join('; ')}.`);
    L.push('');
  }
  if (suite) {
    L.push(`Slowdown vs native (geometric mean over the guests with a native build): interp ${fmtX(gm.interpVsNative)}×, bt ${fmtX(gm.btVsNative)}×, ` +
      `qemu ${fmtX(gm.qemuVsNative)}×, v86 ${fmtX(gm.v86VsNative)}×.`);
    L.push('');
  }
  const cg = res.cpuGeomean;
  if (Object.keys(cg).length) {
    L.push(`By CPU time instead (user + system of the whole process, all threads; less sensitive to other load on the machine), geometric means: ` +
      `bt speed-up ${fmtX(cg.btSpeedup)}, bt ÷ native ${fmtX(cg.btVsNative)}, bt ÷ qemu ${fmtX(cg.btVsQemu)}, bt ÷ v86 ${fmtX(cg.btVsV86)}.`);
    L.push('');
  }
  const ml = res.ratios['mix-long'];
  if (ml && (ml.btVsV86 !== undefined || ml.btVsQemu !== undefined)) {
    L.push(`Speed target on the CPU-bound mix at the size it is stated for (mix-long: native ≈ 0.15 s; whole process, wall time): ` +
      `bt ÷ v86 ${fmtX(ml.btVsV86)} (target ≤ 0.5), bt ÷ qemu ${fmtX(ml.btVsQemu)} (aim: 1), bt speed-up over interp ${fmtX(ml.btSpeedup)}.`);
    L.push('');
  }
  const cp = res.codepage;
  if (Object.keys(cp).length) {
    L.push(`Data on code pages (mix-codepage time ÷ mix time; the same work, arrays sharing 4 KiB pages with the code that writes them): ` +
      RUNNER_NAMES.filter((n) => cp[n] !== undefined).map((n) => `${n} ${fmtX(cp[n])}×`).join(', ') + '.');
    L.push('');
  }
  const infos = res.cells.filter((c) => c.info && c.status === 'ok');
  if (infos.length) {
    L.push('Guest-reported figures: ' + infos.map((c) => `${c.guest}/${c.runner}: ${Object.entries(c.info!).map(([k, v]) => `${k}=${v}`).join(' ')}`).join('; ') + '.');
    L.push('');
  }
  L.push('Runners:');
  for (const r of res.runners) L.push(`- **${r.name}**: ${r.used ? r.description : `skipped — ${r.skipReason}`}`);
  L.push('');
  const failed = res.cells.filter((c) => c.status === 'failed');
  if (failed.length) {
    L.push(`## Failures (${failed.length})`);
    L.push('');
    for (const c of failed) {
      const f = c.failures[0];
      L.push(`### ${c.guest} under ${c.runner}: ${f.reason}`);
      L.push('');
      L.push('```');
      L.push(f.output.trim() || '(no output)');
      L.push('```');
      L.push('');
    }
  }
  return L.join('\n');
}

// ---------------------------------------------------------------- SVG

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal grouped bars on a log scale: bt time ÷ each other runner's time, per guest. */
export function toSvg(res: Results): string {
  const series: { key: keyof Ratios; label: string; color: string; invert?: boolean }[] = [
    { key: 'btSpeedup', label: 'bt ÷ interp', color: '#8c8c8c', invert: true },
    { key: 'btVsQemu', label: 'bt ÷ qemu', color: '#d9822b' },
    { key: 'btVsV86', label: 'bt ÷ v86', color: '#3b7dd8' },
    { key: 'btVsNative', label: 'bt ÷ native', color: '#c23b3b' },
  ];
  const val = (g: string, s: (typeof series)[number]): number | undefined => {
    const v = (g === '__gm' ? res.geomean : res.ratios[g] ?? {})[s.key];
    return v === undefined ? undefined : s.invert ? 1 / v : v;
  };
  const suiteRows = res.guests.filter((g) => g.kind !== 'linux').map((g) => g.name);
  const rows = [...suiteRows, ...(suiteRows.length ? ['__gm'] : []), ...res.guests.filter((g) => g.kind === 'linux').map((g) => g.name)];
  const all = rows.flatMap((g) => series.map((s) => val(g, s))).filter((x): x is number => x !== undefined && x > 0);
  let lo = Math.floor(Math.log10(Math.min(0.5, ...all)));
  let hi = Math.ceil(Math.log10(Math.max(2, ...all)));
  if (hi - lo < 2) { lo -= 1; hi += 1; }
  const left = 130, right = 30, plotW = 560, barH = 7, groupGap = 8, top = 58;
  const groupH = series.length * barH + groupGap;
  const height = top + rows.length * groupH + 50;
  const width = left + plotW + right;
  const x = (v: number): number => left + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  o.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  o.push(`<text x="${left}" y="16" font-size="13" font-weight="bold">x86vm bt: wall time relative to other runners (log scale; left of 1 = bt faster)</text>`);
  o.push(`<text x="${left}" y="31" fill="#555">${esc(`${res.date.slice(0, 10)} · git ${res.git.commit.slice(0, 10)} · ${res.options.quick ? 'quick' : 'full'} run · median of ${res.options.reps}`)}</text>`);
  series.forEach((s, i) => {
    const lx = left + i * 130;
    o.push(`<rect x="${lx}" y="38" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="47">${esc(s.label)}</text>`);
  });
  for (let e = lo; e <= hi; e++) {
    const gx = x(10 ** e);
    o.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${height - 40}" stroke="${e === 0 ? '#000' : '#ddd'}" stroke-width="${e === 0 ? 1.2 : 1}"/>`);
    const label = e >= 0 ? String(10 ** e) : (10 ** e).toFixed(-e);
    o.push(`<text x="${gx.toFixed(1)}" y="${height - 26}" text-anchor="middle" fill="#333">${label}×</text>`);
  }
  rows.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    const name = g === '__gm' ? 'geometric mean' : g;
    o.push(`<text x="${left - 6}" y="${(y0 + (series.length * barH) / 2 + 4).toFixed(1)}" text-anchor="end"${g === '__gm' ? ' font-weight="bold"' : ''}>${esc(name)}</text>`);
    series.forEach((s, si) => {
      const v = val(g, s);
      if (v === undefined) return;
      const x1 = x(Math.max(v, 10 ** lo)), x0 = x(1);
      const bx = Math.min(x0, x1), bw = Math.max(1, Math.abs(x1 - x0));
      o.push(`<rect x="${bx.toFixed(1)}" y="${y0 + si * barH}" width="${bw.toFixed(1)}" height="${barH - 1}" fill="${s.color}"><title>${esc(`${name}: ${s.label} = ${v.toFixed(3)}`)}</title></rect>`);
    });
  });
  o.push(`<text x="${left + plotW / 2}" y="${height - 8}" text-anchor="middle" fill="#333">bt wall time ÷ runner wall time (whole process)</text>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}
