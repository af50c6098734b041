/** Test assertions shared by the differential suites (diff.test.ts, test/fpu/fpu-diff.test.ts). */
import { expect } from 'vitest';

/** The native run printed nothing else and exactly one `re`-shaped line per case, under the case's name. */
export function expectOneLinePerCase(cases: readonly { id: number; name: string }[], native: Map<number, string>,
  junk: string[], re: RegExp): void {
  expect(junk).toEqual([]);
  expect(native.size).toBe(cases.length);
  for (const c of cases) {
    const l = native.get(c.id);
    expect(l, `case ${c.id}`).toBeDefined();
    const m = re.exec(l!);
    expect(m, l).not.toBeNull();
    expect(m![2]).toBe(c.name);
  }
}
