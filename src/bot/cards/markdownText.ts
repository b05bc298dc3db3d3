// Teams renders Markdown in TextBlock text and FactSet values. Text syncbot did not write (user names,
// display names, Graph and UMP error messages, audit details) is escaped so that `**x**` or `[a](b)` is
// shown as typed, never rendered as formatting or a link, and it is kept to one line.

import { truncate } from "../truncate";

/** Escapes Markdown syntax in free text (CommonMark backslash escapes; intra-word `_` needs none). */
export function markdownText(text: string): string {
  return text
    .replace(/\s*[\r\n\u2028\u2029]+\s*/g, " ")
    .replace(/[\\`*[\]~<>]/g, (c) => `\\${c}`)
    .replace(/(^|[^A-Za-z0-9])_|_(?=[^A-Za-z0-9]|$)/g, (m) => m.replace("_", "\\_"))
    .replace(/^(\s*)([#+\-=|])/, "$1\\$2")
    .replace(/^(\s*\d+)([.)])/, "$1\\$2");
}

/** User text echoed back ("I don't know …", "no registration for …"): short, and shown as typed. */
export function echo(text: string, max = 40): string {
  return markdownText(truncate(text, max));
}
