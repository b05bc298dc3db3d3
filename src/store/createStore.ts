// Chooses the DocumentStore implementation named by configuration (STORE=sqlite | azure-tables), and
// for Azure Tables how to reach the service: a connection string, or the endpoint with the Entra ID
// credential syncbot uses for Graph (the App Service's managed identity; no account key).

import type { DocumentStore } from "../domain/documentStore";
import {
  createGraphCredential,
  type GraphCredentialKind,
  type GraphCredentialOptions,
} from "../graph/createGraphCredential";
import { SyncbotError } from "../domain/errors";
import { createSqliteStore } from "./createSqliteStore";
import { createTableStore } from "./createTableStore";

export type TableCredentialConfig = GraphCredentialOptions & { kind: GraphCredentialKind };

export type StoreConfig =
  | { kind: "sqlite"; path: string }
  | {
      kind: "azure-tables";
      tableName?: string;
      connectionString?: string;
      /** AZURE_TABLES_ENDPOINT; used with `credential` when there is no connection string. */
      endpoint?: string;
      credential?: TableCredentialConfig;
    };

export function createStore(config: StoreConfig): DocumentStore {
  switch (config.kind) {
    case "sqlite":
      return createSqliteStore({ path: config.path });
    case "azure-tables": {
      if (config.connectionString)
        return createTableStore({ connectionString: config.connectionString, tableName: config.tableName });
      const { kind, ...options } = config.credential ?? { kind: "none" as const, tenantId: "", authorityHost: "" };
      const credential = config.endpoint ? createGraphCredential(kind, options) : null;
      if (!config.endpoint || !credential)
        throw new SyncbotError(
          "config_invalid",
          "STORE=azure-tables needs AZURE_STORAGE_CONNECTION_STRING, or AZURE_TABLES_ENDPOINT with a token credential (GRAPH_CREDENTIAL other than none)",
        );
      return createTableStore({ endpoint: config.endpoint, credential, tableName: config.tableName });
    }
  }
}
