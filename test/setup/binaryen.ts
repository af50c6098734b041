// Every test worker loads Binaryen once before its files run: bt machines are created synchronously.
import { loadBinaryen } from '../../src/jit/binaryen.js';

await loadBinaryen();
