/**
 * QEMU-compatible `isa-debug-exit` (iobase 0xF4, iosize 4): a write of v ends the run with exit
 * code (v << 1) | 1; and the Bochs/QEMU 0xE9 debug console (bytes written go to the log).
 */
import type { IoDevice } from './bus.js';

export class DebugExit implements IoDevice {
  onExit: (code: number) => void = () => {};
  constructor(readonly base = 0xf4) {}
  ports(): [number, number] { return [this.base, 4]; }
  read(): number { return 0xff; }
  write(_port: number, value: number): void {
    this.onExit((((value & 0xff) << 1) | 1) & 0xff);
  }
}

export class DebugConsole implements IoDevice {
  onByte: (b: number) => void = () => {};
  ports(): [number, number] { return [0xe9, 1]; }
  read(): number { return 0xe9; } // Bochs convention: reading returns 0xE9 to show the port exists
  write(_port: number, value: number): void { this.onByte(value & 0xff); }
}
