// A channel that other traffic of the same bot has just used up (issue 17): posts `count` messages into
// one reply chain of the channel as fast as Teams' per-conversation limits let them in, so the next
// message syncbot sends there meets a 429 it could not have foreseen. Also the earliest time those
// limits let `n` more messages in after that traffic: the floor the reminder-storm bench compares with.

import { type RateWindow, SEND_TO_CONVERSATION } from "../emulators/connectorRateLimits";

/** Posts as another sender of the same app would; resolves the arrival times the connector accepted. */
export async function fillChannelBudget(connectorUrl: string, conversationId: string, count: number) {
  const accepted: number[] = [];
  const url = `${connectorUrl}/v3/conversations/${encodeURIComponent(conversationId)}/activities`;
  while (accepted.length < count) {
    const wait = earliestAdmission(accepted, Date.now()) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 5));
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "message", text: `other traffic ${accepted.length + 1}` }),
    });
    await res.text();
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (res.status >= 300) throw new Error(`busy channel: the connector answered ${res.status}`);
    accepted.push(Date.now());
  }
  return accepted;
}

/** The first instant at or after `from` at which one more message fits every window, given `log`. */
export function earliestAdmission(
  log: readonly number[],
  from: number,
  windows: readonly RateWindow[] = SEND_TO_CONVERSATION,
): number {
  let t = from;
  for (const w of windows)
    if (log.length >= w.count) {
      const oldestInWay = log[log.length - w.count]!;
      t = Math.max(t, oldestInWay + w.windowMs);
    }
  return t;
}

/** The earliest instant the n-th of `n` messages sent from `from` on can be accepted, after `log`. */
export function rateFloor(log: readonly number[], n: number, from: number): number {
  const all = [...log];
  let t = from;
  for (let i = 0; i < n; i++) {
    t = earliestAdmission(all, t);
    all.push(t);
  }
  return t;
}
