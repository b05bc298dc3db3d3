// Order- and prefix-preserving encoding of DocumentStore keys into Azure Table keys (PartitionKey /
// RowKey), which forbid some characters: used by createTableStore.

import { SyncbotError } from "../domain/errors";

// Key encoding.
//
// Azure forbids / \ # ? and the control characters U+0000–U+001F and U+007F–U+009F in keys, and '%'
// is unreliable there. Plain %-escaping would break the order of keys ("%2F" sorts before "&"), and
// the store promises ascending key order with `after` paging. So each forbidden character is written
// as a two-character code led by its allowed neighbour, which sits at the same place in the order:
// '.' becomes ".0" and '/' becomes ".1"; both sort after '-' and before '0'. Every code is at most
// one lead and a distinct second character, so the encoding is order-preserving (code point order,
// as SQLite sorts) and prefix-preserving: encode(p) is a prefix of encode(k) exactly when p is a
// prefix of k. Characters above U+FFFC, including astral ones, go behind the lead U+FFFD so that
// Azure's UTF-16 order agrees with code point order there too.

const GROUPS: readonly (readonly number[])[] = [
  [...range(0x00, 0x1f), 0x20], // controls and ' '
  [0x22, 0x23], // '"' '#'
  [0x24, 0x25], // '$' '%'
  [0x2e, 0x2f], // '.' '/'
  [0x3e, 0x3f], // '>' '?'
  [0x5b, 0x5c], // '[' '\'
  [0x7e, ...range(0x7f, 0x9f)], // '~' and C1 controls
  [0xfffd, 0xfffe, 0xffff], // followed by '3' + surrogate pair for astral characters
];
const ASTRAL_INDEX = 3;
// Second characters of a code, ascending and all allowed (so never '?' or '\\'); the largest group has 34.
const SECOND = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LEAD_OF = new Map<number, { lead: number; index: number }>();
const GROUP_OF_LEAD = new Map<number, readonly number[]>();
for (const group of GROUPS) {
  const lead = group.find((c) => !isForbidden(c))!;
  GROUP_OF_LEAD.set(lead, group);
  group.forEach((c, index) => {
    LEAD_OF.set(c, { lead, index });
  });
}
/** Sorts after every code any continuation of a prefix can start with. */
export const PREFIX_END = `\ufffd${SECOND[ASTRAL_INDEX + 1]}`;

export function encodeKey(key: string): string {
  let out = "";
  for (const ch of key) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0xffff) {
      out += `\ufffd${SECOND[ASTRAL_INDEX]}${ch}`;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff)
      throw new SyncbotError("validation_failed", "store: key contains a lone surrogate");
    const code = LEAD_OF.get(cp);
    out += code ? String.fromCharCode(code.lead) + SECOND[code.index] : ch;
  }
  return out;
}

export function decodeKey(encoded: string): string {
  let out = "";
  for (let i = 0; i < encoded.length; i++) {
    const unit = encoded.charCodeAt(i);
    const group = GROUP_OF_LEAD.get(unit);
    if (!group) {
      out += encoded[i];
      continue;
    }
    const index = SECOND.indexOf(encoded[++i] ?? "");
    if (group[0] === 0xfffd && index === ASTRAL_INDEX) {
      out += encoded.slice(i + 1, i + 3);
      i += 2;
    } else {
      const cp = group[index];
      if (cp === undefined) throw new SyncbotError("internal", "store: malformed stored key");
      out += String.fromCharCode(cp);
    }
  }
  return out;
}

function isForbidden(cp: number): boolean {
  return (
    cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0x23 || cp === 0x25 || cp === 0x2f || cp === 0x3f || cp === 0x5c
  );
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
