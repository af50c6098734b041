#!/usr/bin/env node
// Write a gzip-compressed "newc" cpio archive (the initramfs format, Linux
// Documentation/driver-api/early-userspace/buffer-format.rst) without needing the cpio tool.
// Deterministic: uid/gid 0, mtime 0, inode numbers in entry order, gzip header mtime 0.
//
// usage: node mkcpio.mjs OUT.cpio.gz ENTRY...
//   dir:PATH:MODE            directory (octal permission bits)
//   file:PATH:MODE:HOSTFILE  regular file copied from HOSTFILE
//   char:PATH:MODE:MAJ:MIN   character device node
//   link:PATH:TARGET         symbolic link
// Parent directories must be listed before their contents.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFCHR = 0o020000, S_IFLNK = 0o120000;
const [out, ...specs] = process.argv.slice(2);
if (!out || specs.length === 0) {
  process.stderr.write('usage: node mkcpio.mjs OUT.cpio.gz ENTRY...\n');
  process.exit(2);
}

const chunks = [];
let ino = 1;
const pad4 = (n) => (4 - (n % 4)) % 4;
const hex8 = (n) => (n >>> 0).toString(16).padStart(8, '0');

function entry(name, mode, data, rdevMajor = 0, rdevMinor = 0) {
  const nameBytes = Buffer.from(name + '\0', 'utf8');
  const fields = [ino++, mode, 0, 0, (mode & 0o170000) === S_IFDIR ? 2 : 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0];
  const header = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
  chunks.push(header, nameBytes, Buffer.alloc(pad4(header.length + nameBytes.length)), data, Buffer.alloc(pad4(data.length)));
}

for (const spec of specs) {
  const [kind, path, ...rest] = spec.split(':');
  const name = path.replace(/^\/+/, '');
  if (!name) throw new Error(`bad entry '${spec}'`);
  switch (kind) {
    case 'dir': entry(name, S_IFDIR | parseInt(rest[0], 8), Buffer.alloc(0)); break;
    case 'file': entry(name, S_IFREG | parseInt(rest[0], 8), readFileSync(rest.slice(1).join(':'))); break;
    case 'char': entry(name, S_IFCHR | parseInt(rest[0], 8), Buffer.alloc(0), Number(rest[1]), Number(rest[2])); break;
    case 'link': entry(name, S_IFLNK | 0o777, Buffer.from(rest.join(':'), 'utf8')); break;
    default: throw new Error(`unknown entry kind in '${spec}'`);
  }
}
ino = 0;
entry('TRAILER!!!', 0, Buffer.alloc(0));
const archive = Buffer.concat(chunks);
writeFileSync(out, gzipSync(archive, { level: 9 }));
process.stdout.write(`${out}: ${specs.length} entries, ${archive.length} bytes uncompressed\n`);
