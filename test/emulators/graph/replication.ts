// Entra's replication lag in the Graph emulator: for a configurable window after a create, the replicas
// and the token service that did not take the write yet answer as if the object did not exist. Writes
// themselves land at once (a second create still conflicts); only what depends on reading them lags.
// Sources: Microsoft identity blog "Designing for eventual consistency for Microsoft Entra"; the
// NoBackingApplicationObject 400 (Microsoft Q&A 5883620); 4-18 s observed for a new secret
// (microsoft-graph-docs#17966); AADSTS7000222 for a just-registered app's secret
// (Azure-Samples/active-directory-dotnetcore-daemon-v2#87). See test/emulators/README.md.

export interface Replication {
  /** Milliseconds a new object stays invisible to other replicas and the token service (0: none). */
  window(): number;
  setWindow(ms: number): void;
  /** Whether something created at `createdAt` (ms; undefined: seeded, long replicated) is still lagging. */
  lagging(createdAt: number | undefined): boolean;
}

export function createReplication(now: () => number = Date.now): Replication {
  let windowMs = 0;
  return {
    window: () => windowMs,
    setWindow(ms) {
      windowMs = Math.max(0, ms);
    },
    lagging: (createdAt) => windowMs > 0 && createdAt !== undefined && now() - createdAt < windowMs,
  };
}

/** Graph's answer to POST /servicePrincipals for an appId the replica does not know (yet). */
export function noBackingApplication(appId: string): { message: string; details: Array<Record<string, string>> } {
  const message = `The appId '${appId}' of the service principal does not reference a valid application object.`;
  return { message, details: [{ code: "NoBackingApplicationObject", message, target: "appId" }] };
}
