// Java's String.trim drops every char <= U+0020 (controls included) and nothing else; JS trim
// differs (it drops U+00A0, U+FEFF... and keeps controls), so Spark's `.trim` needs this.
export function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}
