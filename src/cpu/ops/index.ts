/**
 * Loads every instruction module, each of which registers its opcodes in the table (table.ts).
 * Import this once before decoding.
 */
import './alu.js';
import './shift.js';
import './move.js';
import './control.js';
import './bits.js';
import './muldiv.js';
import './bcd.js';
import './string.js';
import './io.js';
import './farcontrol.js';
import './system.js';
import './fpu.js';
