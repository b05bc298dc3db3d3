// The Directory's password operations: addPassword (the only answer that carries a secret value,
// handed back as a NewSecret and nowhere else) and removePassword, which decides "already removed"
// from the application's credentials, not from a status code.

import { SyncbotError } from "../domain/errors";
import type { Directory, NewSecret } from "../domain/ports";
import { appPath } from "./createApplicationOperations";
import type { GraphHttp } from "./createGraphHttp";
import type { GraphAppJson } from "./toLiveApplication";

export type PasswordOperations = Pick<Directory, "addPassword" | "removePassword">;

export function createPasswordOperations(http: GraphHttp): PasswordOperations {
  return {
    async addPassword(objectId, credential, ctx = {}): Promise<NewSecret> {
      const { body } = await http.call("POST", `${appPath(objectId)}/addPassword`, ctx, {
        passwordCredential: { displayName: credential.displayName, endDateTime: credential.endDateTime },
      });
      const b = (body ?? {}) as Partial<Record<keyof NewSecret, string | null>>;
      if (!b.keyId || !b.secretText) {
        throw new SyncbotError("upstream_failed", "Graph addPassword answered without a keyId or secret", {
          hint: "check in Entra ID whether a secret was added and remove it if so",
        });
      }
      return {
        keyId: b.keyId,
        displayName: b.displayName ?? credential.displayName,
        hint: b.hint ?? b.secretText.slice(0, 3),
        endDateTime: b.endDateTime ?? credential.endDateTime,
        secretText: b.secretText,
      };
    },

    async removePassword(objectId, keyId, ctx = {}) {
      try {
        await http.call("POST", `${appPath(objectId)}/removePassword`, ctx, { keyId });
      } catch (e) {
        // Clients see a 400 (sometimes a 404) for a keyId the application no longer has. The status
        // alone proves nothing, so the credentials are re-read: only "keyId absent" counts as removed.
        if (!(e instanceof SyncbotError) || (e.status !== 400 && e.status !== 404)) throw e;
        let keyIds: string[];
        try {
          const { body } = await http.call("GET", `${appPath(objectId)}?$select=id,passwordCredentials`, ctx);
          keyIds = ((body as GraphAppJson | undefined)?.passwordCredentials ?? []).map((p) =>
            (p.keyId ?? "").toLowerCase(),
          );
        } catch {
          throw e;
        }
        if (keyIds.includes(keyId.toLowerCase())) throw e;
        http.logger?.info("password already absent", { objectId, keyId, correlationId: ctx.correlationId });
      }
    },
  };
}
