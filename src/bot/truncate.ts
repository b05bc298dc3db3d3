// Free text from users and from upstream errors has no length bound: cut it before it reaches a card
// or a message, so no activity grows past Teams' size limit.

export function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
