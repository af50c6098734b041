/** Port I/O bus: devices claim port ranges; unclaimed reads float high (all ones). */
export interface IoDevice {
  /** First port and count. */
  ports(): [number, number] | [number, number][];
  read(port: number, size: 1 | 2 | 4): number;
  write(port: number, value: number, size: 1 | 2 | 4): void;
}

export class IoBus {
  private readers: (IoDevice | undefined)[] = new Array(0x10000);
  /** Ports nobody claimed that the guest touched (diagnostics). */
  readonly unclaimed = new Set<number>();

  attach(dev: IoDevice): void {
    const r = dev.ports();
    const ranges: [number, number][] = typeof r[0] === 'number' ? [r as [number, number]] : (r as [number, number][]);
    for (const [first, count] of ranges) {
      for (let p = first; p < first + count; p++) {
        if (this.readers[p]) throw new Error(`I/O port 0x${p.toString(16)} claimed twice`);
        this.readers[p] = dev;
      }
    }
  }

  read(port: number, size: 1 | 2 | 4): number {
    const d = this.readers[port & 0xffff];
    if (!d) { this.unclaimed.add(port); return size === 1 ? 0xff : size === 2 ? 0xffff : -1; }
    return d.read(port, size);
  }

  write(port: number, size: 1 | 2 | 4, value: number): void {
    const d = this.readers[port & 0xffff];
    if (!d) { this.unclaimed.add(port); return; }
    d.write(port, value, size);
  }
}

/** A wide access to byte-wide registers is a sequence of byte accesses to consecutive ports. */
export function readBytes(port: number, size: 1 | 2 | 4, readByte: (port: number) => number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v |= readByte((port + i) & 0xffff) << (8 * i);
  return v;
}
export function writeBytes(port: number, value: number, size: 1 | 2 | 4, writeByte: (port: number, v: number) => void): void {
  for (let i = 0; i < size; i++) writeByte((port + i) & 0xffff, (value >>> (8 * i)) & 0xff);
}
