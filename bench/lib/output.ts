/**
 * Guest output: every benchmark guest prints
 *   bench NAME: start iterations=N
 *   [info key=value ...]
 *   BENCH name=NAME iterations=N checksum=XXXXXXXX expected=XXXXXXXX|none result=ok|MISMATCH|unknown
 * and then exits (0 = pass). The harness checks the printed checksum itself against expected.txt
 * as well, so a guest cannot pass by printing "ok".
 */
import { expectedKey, type ExpectedTable } from './suite.js';

export interface GuestReport {
  name: string;
  iterations: number;
  checksum: number;
  /** The guest's own expected value (null: it had none). */
  guestExpected: number | null;
  guestVerdict: 'ok' | 'MISMATCH' | 'unknown';
  info: Record<string, string>;
}

const RESULT_RE = /^BENCH name=(\S+) iterations=(\d+) checksum=([0-9a-f]{8}) expected=([0-9a-f]{8}|none) result=(ok|MISMATCH|unknown)\s*$/m;

/** Parse a guest's serial/stdout output; null when there is no result line. */
export function parseGuestOutput(text: string): GuestReport | null {
  const m = RESULT_RE.exec(text.replace(/\r/g, ''));
  if (!m) return null;
  const info: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const im = /^info (.*)$/.exec(line.trim());
    if (!im) continue;
    for (const kv of im[1].split(/\s+/)) {
      const eq = kv.indexOf('=');
      if (eq > 0) info[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return {
    name: m[1],
    iterations: Number(m[2]),
    checksum: parseInt(m[3], 16) >>> 0,
    guestExpected: m[4] === 'none' ? null : parseInt(m[4], 16) >>> 0,
    guestVerdict: m[5] as GuestReport['guestVerdict'],
    info,
  };
}

export interface Verdict {
  ok: boolean;
  /** Why the run failed (absent when ok). */
  reason?: string;
  report: GuestReport | null;
}

/**
 * Decide whether one run passed: the guest exited with code 0, printed its result line for the
 * right benchmark and iteration count, and its checksum equals the known-good value.
 * `guestCode` is the guest's exit code (debug-exit value / native exit status); null if the run
 * did not end with a guest exit (crash, timeout, host error: `problem` says which).
 */
export function verifyRun(opts: {
  name: string;
  iterations: number;
  output: string;
  guestCode: number | null;
  problem?: string;
  expected: ExpectedTable;
}): Verdict {
  const report = parseGuestOutput(opts.output);
  const fail = (reason: string): Verdict => ({ ok: false, reason, report });
  if (opts.problem) return fail(opts.problem);
  if (!report) return fail(opts.guestCode === null ? 'no result line and no guest exit' : `no result line (guest exit code ${opts.guestCode})`);
  if (report.name !== opts.name) return fail(`result line is for '${report.name}', not '${opts.name}'`);
  if (report.iterations !== opts.iterations) return fail(`guest ran ${report.iterations} iterations, ${opts.iterations} were asked`);
  const want = opts.expected.get(expectedKey(opts.name, opts.iterations));
  if (want === undefined) return fail(`no known-good checksum for ${opts.name} at ${opts.iterations} iterations (images/bench/build.sh --record)`);
  if (report.checksum !== want) return fail(`checksum ${hex(report.checksum)} != known-good ${hex(want)}`);
  if (report.guestVerdict !== 'ok') return fail(`guest reported result=${report.guestVerdict}`);
  if (opts.guestCode === null) return fail('the guest did not exit');
  if (opts.guestCode !== 0) return fail(`guest exit code ${opts.guestCode}`);
  return { ok: true, report };
}

export function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

/** The last `lines` lines of an output, for failure reports. */
export function tail(text: string, lines = 12): string {
  const all = text.replace(/\r/g, '').split('\n');
  while (all.length && all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
}
