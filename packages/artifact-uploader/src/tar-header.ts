// A small ustar header writer with PAX extended headers, enough for deterministic archives of
// regular files and directories. Written here rather than taken from a library so that every
// byte is under our control: the package name is the hash of these bytes.
// See POSIX.1-2008 `pax` ("ustar Interchange Format" and "pax Extended Header").

/** Size of a tar block; headers and padded file data are multiples of it. */
export const TAR_BLOCK_SIZE = 512;

/** The largest size the 11 octal digits of a ustar header hold (8 GiB - 1). */
const MAX_OCTAL_SIZE = 0o77777777777;

/** One member of the archive as the header writer sees it. */
export interface TarHeaderEntry {
  /** Path inside the archive, `/`-separated, directories ending in `/`. */
  readonly path: string;
  /** `file` or `directory`. */
  readonly type: 'file' | 'directory';
  /** Permission bits (e.g. 0o644). */
  readonly mode: number;
  /** Size of the file data in bytes (0 for directories). */
  readonly size: number;
  /** Modification time in seconds since the epoch. */
  readonly mtimeSeconds: number;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  block.write(value, offset, length, 'utf8');
}

/** Octal, zero-padded to `length - 1` digits and NUL-terminated, as ustar numeric fields are. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

function ustarBlock(name: string, typeflag: string, mode: number, size: number, mtimeSeconds: number): Buffer {
  const block = Buffer.alloc(TAR_BLOCK_SIZE);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, mtimeSeconds);
  block.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  writeString(block, 156, 1, typeflag);
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  // uname, gname, devmajor, devminor, prefix stay empty (NUL): no user names leak into the package.
  let checksum = 0;
  for (const byte of block) checksum += byte;
  writeString(block, 148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** One `"<length> <key>=<value>\n"` record, where length counts the whole record in bytes. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  // The length counts its own digits: iterate until adding them no longer adds a digit.
  let length = bodyLength + 1;
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function padding(size: number): Buffer {
  const remainder = size % TAR_BLOCK_SIZE;
  return Buffer.alloc(remainder === 0 ? 0 : TAR_BLOCK_SIZE - remainder);
}

/** Zero bytes that pad `size` bytes of file data up to a block boundary. */
export function tarPadding(size: number): Buffer {
  return padding(size);
}

/** The two zero blocks that end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * TAR_BLOCK_SIZE);
}

/**
 * The header block(s) of one entry: a plain ustar header when the path fits its 100-byte name
 * field as ASCII and the size its octal field, else a PAX extended header (`path`, `size`)
 * followed by a ustar header carrying a truncated name. The PAX header's own name is derived
 * from the entry's path only, so the bytes stay deterministic.
 */
export function tarHeader(entry: TarHeaderEntry): Buffer {
  const typeflag = entry.type === 'directory' ? '5' : '0';
  const size = entry.type === 'directory' ? 0 : entry.size;
  const records: string[] = [];
  // ASCII only in the plain field: readers disagree on the encoding of non-ASCII ustar names,
  // while PAX paths are UTF-8 by definition.
  const pathFits = Buffer.byteLength(entry.path) <= 100 && /^[\x20-\x7e]*$/.test(entry.path);
  if (!pathFits) records.push(paxRecord('path', entry.path));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(size)));
  const ustarName = pathFits ? entry.path : truncatedAsciiName(entry.path);
  const ustarSize = size > MAX_OCTAL_SIZE ? 0 : size;
  const main = ustarBlock(ustarName, typeflag, entry.mode, ustarSize, entry.mtimeSeconds);
  if (records.length === 0) return main;
  const pax = Buffer.from(records.join(''), 'utf8');
  const paxName = truncatedAsciiName(`PaxHeaders/${entry.path}`);
  return Buffer.concat([
    ustarBlock(paxName, 'x', 0o644, pax.length, entry.mtimeSeconds),
    pax,
    padding(pax.length),
    main,
  ]);
}

/** A stand-in name for readers without PAX support: ASCII, at most 100 bytes. */
function truncatedAsciiName(path: string): string {
  const ascii = path.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= 100 ? ascii : ascii.slice(0, 100);
}
