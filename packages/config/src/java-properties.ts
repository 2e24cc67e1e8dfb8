import { SparkMesosError } from '@spark-mesos/errors';

/** One key/value pair read by {@link parseJavaProperties}. */
export interface JavaPropertiesEntry {
  /** The key, unescaped. */
  readonly key: string;
  /** The value, unescaped, trailing whitespace kept (as Java keeps it). */
  readonly value: string;
  /** The 1-based physical line the logical line starts on. */
  readonly line: number;
}

/** Options of {@link parseJavaProperties}. */
export interface ParseJavaPropertiesOptions {
  /** What to call the input in error messages, usually its path. @default '<properties>' */
  source?: string;
}

interface LogicalLine {
  readonly text: string;
  readonly line: number;
}

/**
 * Splits text into logical lines exactly as `java.util.Properties.load` (Java 9+ `LineReader`)
 * does: `\n`, `\r` or `\r\n` ends a line, leading blanks (space, tab, form feed) are dropped,
 * blank lines and `#`/`!` comment lines are skipped (a comment ending in `\` is not continued),
 * and a line ending in an odd number of backslashes continues onto the next, whose leading blanks
 * are dropped.
 */
function* logicalLines(text: string): Generator<LogicalLine> {
  const length = text.length;
  let physicalLine = 1;
  let chars: string[] = [];
  let startLine = 1;
  let skipWhiteSpace = true;
  let appendedLineBegin = false;
  let precedingBackslash = false;
  let skipLineFeed = false;
  // A terminator is counted when first seen: `\r`, or `\n` not right after `\r`.
  const countTerminator = (index: number): void => {
    const c = text[index];
    if (c === '\r' || (c === '\n' && text[index - 1] !== '\r')) physicalLine++;
  };
  for (let index = 0; index < length; index++) {
    const c = text[index]!;
    if (skipLineFeed) {
      skipLineFeed = false;
      if (c === '\n') continue;
    }
    if (skipWhiteSpace) {
      if (c === ' ' || c === '\t' || c === '\f') continue;
      if (!appendedLineBegin && (c === '\r' || c === '\n')) {
        countTerminator(index);
        continue;
      }
      skipWhiteSpace = false;
      appendedLineBegin = false;
    }
    if (chars.length === 0 && (c === '#' || c === '!')) {
      // A comment: skip to its terminator, which ends it whatever precedes it.
      while (index < length && text[index] !== '\r' && text[index] !== '\n') index++;
      if (index < length) countTerminator(index);
      skipWhiteSpace = true;
      continue;
    }
    if (c !== '\n' && c !== '\r') {
      if (chars.length === 0) startLine = physicalLine;
      chars.push(c);
      precedingBackslash = c === '\\' ? !precedingBackslash : false;
      continue;
    }
    countTerminator(index);
    if (chars.length === 0) {
      skipWhiteSpace = true;
      continue;
    }
    if (precedingBackslash) {
      // The backslash joins the lines and is not part of the value.
      chars.pop();
      if (index === length - 1) {
        // Java returns the line (even an empty one) when the input ends right after this break.
        yield { text: chars.join(''), line: startLine };
        return;
      }
      skipWhiteSpace = true;
      appendedLineBegin = true;
      precedingBackslash = false;
      if (c === '\r') skipLineFeed = true;
      continue;
    }
    yield { text: chars.join(''), line: startLine };
    chars = [];
    skipWhiteSpace = true;
    appendedLineBegin = false;
  }
  if (chars.length > 0) {
    // Java drops a final unpaired backslash but still returns the line, even if now empty.
    if (precedingBackslash) chars.pop();
    yield { text: chars.join(''), line: startLine };
  }
}

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\f';
}

function unescapeProperty(text: string, line: number, source: string): string {
  if (!text.includes('\\')) return text;
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const c = text[index]!;
    if (c !== '\\') {
      result += c;
      continue;
    }
    index++;
    if (index >= text.length) break; // unreachable from logicalLines, which drops a trailing lone `\`
    const escaped = text[index]!;
    if (escaped === 'u') {
      const digits = text.slice(index + 1, index + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
        throw new SparkMesosError(
          'SM_ERR_CONFIG_FILE',
          `${source}:${line}: malformed \\uxxxx encoding "\\u${digits}"; write exactly four hex digits after \\u (e.g. \\u00e9), or \\\\u for a literal backslash and u`,
          { cause: { source, line, escape: `\\u${digits}` }, details: { source, line } },
        );
      }
      result += String.fromCharCode(Number.parseInt(digits, 16));
      index += 4;
    } else if (escaped === 't') result += '\t';
    else if (escaped === 'r') result += '\r';
    else if (escaped === 'n') result += '\n';
    else if (escaped === 'f') result += '\f';
    else result += escaped;
  }
  return result;
}

/**
 * Parses the text of a `.properties` file with the semantics of Java's `Properties.load(Reader)`:
 * `key=value`, `key: value` and `key value` (separators with surrounding blanks), `#`/`!`
 * comments, backslash continuations, `\uXXXX`, `\t \n \r \f` escapes, `\` before any other
 * character yielding it (so `a\=b=c` has key `a=b`), trailing whitespace of values kept, and
 * duplicate keys resolved last-wins (the entry keeps the last occurrence's line).
 *
 * @returns the entries in order of their last occurrence.
 * @throws SparkMesosError `SM_ERR_CONFIG_FILE` naming source and line for a malformed `\u` escape
 *   (Java throws "Malformed \uxxxx encoding").
 * @see https://docs.oracle.com/en/java/javase/17/docs/api/java.base/java/util/Properties.html#load(java.io.Reader)
 */
export function parseJavaProperties(text: string, options: ParseJavaPropertiesOptions = {}): JavaPropertiesEntry[] {
  const source = options.source ?? '<properties>';
  const entries = new Map<string, JavaPropertiesEntry>();
  for (const { text: line, line: lineNumber } of logicalLines(text)) {
    let keyEnd = 0;
    let valueStart = line.length;
    let hasSeparator = false;
    let precedingBackslash = false;
    while (keyEnd < line.length) {
      const c = line[keyEnd]!;
      if ((c === '=' || c === ':') && !precedingBackslash) {
        valueStart = keyEnd + 1;
        hasSeparator = true;
        break;
      }
      if (isBlank(c) && !precedingBackslash) {
        valueStart = keyEnd + 1;
        break;
      }
      precedingBackslash = c === '\\' ? !precedingBackslash : false;
      keyEnd++;
    }
    while (valueStart < line.length) {
      const c = line[valueStart]!;
      if (!isBlank(c)) {
        if (!hasSeparator && (c === '=' || c === ':')) hasSeparator = true;
        else break;
      }
      valueStart++;
    }
    const key = unescapeProperty(line.slice(0, keyEnd), lineNumber, source);
    const value = unescapeProperty(line.slice(valueStart), lineNumber, source);
    entries.delete(key);
    entries.set(key, { key, value, line: lineNumber });
  }
  return [...entries.values()];
}

function escapeProperty(text: string, isKey: boolean): string {
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const c = text[index]!;
    const code = c.charCodeAt(0);
    if (c === '\\') result += '\\\\';
    else if (c === ' ') result += isKey || index === 0 ? '\\ ' : ' ';
    else if (c === '\t') result += '\\t';
    else if (c === '\n') result += '\\n';
    else if (c === '\r') result += '\\r';
    else if (c === '\f') result += '\\f';
    else if (c === '=' || c === ':' || c === '#' || c === '!') result += `\\${c}`;
    else if (code < 0x20 || code > 0x7e) result += `\\u${code.toString(16).padStart(4, '0')}`;
    else result += c;
  }
  return result;
}

/**
 * Writes entries as `.properties` text that {@link parseJavaProperties} (and Java) read back to
 * the same map, escaping like `Properties.store`: `\\`, `\t \n \r \f`, separators and comment
 * characters, blanks in keys and a value's leading blank, and every character outside printable
 * ASCII as `\uXXXX` (so the file is plain ASCII). One `key=value` line per entry, `\n` ends.
 */
export function formatJavaProperties(
  entries: Iterable<readonly [string, string]> | Readonly<Record<string, string>>,
): string {
  const pairs: Iterable<readonly [string, string]> =
    Symbol.iterator in entries
      ? (entries as Iterable<readonly [string, string]>)
      : Object.entries(entries as Record<string, string>);
  let text = '';
  for (const [key, value] of pairs) text += `${escapeProperty(key, true)}=${escapeProperty(value, false)}\n`;
  return text;
}
