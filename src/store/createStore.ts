// Chooses the DocumentStore implementation named by configuration (STORE=sqlite | azure-tables).

import type { DocumentStore } from "../domain/ports";
import { createSqliteStore } from "./createSqliteStore";
import { createTableStore } from "./createTableStore";

export type StoreConfig =
  | { kind: "sqlite"; path: string }
  | { kind: "azure-tables"; connectionString: string; tableName?: string };

export function createStore(config: StoreConfig): DocumentStore {
  switch (config.kind) {
    case "sqlite":
      return createSqliteStore({ path: config.path });
    case "azure-tables":
      return createTableStore({ connectionString: config.connectionString, tableName: config.tableName });
  }
}
