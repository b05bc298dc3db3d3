// createLogger: JSON lines on stdout (one object per line, for log shippers), human-readable only on a
// terminal. Fields named like credentials are masked as a second line of defence; the first is that
// no code path hands a secret value to the logger at all. An optional sink (Application Insights) gets
// the same masked record.

import type { Logger, LogLevel } from "./domain/ports";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SENSITIVE = /secret|password|token|authorization|key$/i;

/** A second destination for log records: it receives only the masked fields, never the raw ones. */
export type LogSink = (record: { level: LogLevel; msg: string; fields: Record<string, unknown> }) => void;

export interface LoggerOptions {
  level: LogLevel;
  pretty?: boolean;
  write?: (line: string) => void;
  base?: Record<string, unknown>;
  sink?: LogSink;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const pretty = options.pretty ?? false;
  const min = ORDER[options.level];

  const make = (base: Record<string, unknown>): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < min) return;
      const masked = mask({ ...base, ...(fields ?? {}) });
      const record = { ...masked, time: new Date().toISOString(), level, msg };
      if (options.sink) {
        try {
          options.sink({ level, msg, fields: masked });
        } catch {} // telemetry never breaks logging
      }
      if (pretty) {
        const { time, level: l, msg: m, ...rest } = record;
        const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : "";
        write(`${time.slice(11, 19)} ${l.toUpperCase().padEnd(5)} ${m}${extra}`);
      } else write(JSON.stringify(record));
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.base ?? {});
}

function mask(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SENSITIVE.test(k) && k !== "keyId") out[k] = "[masked]";
    else if (v && typeof v === "object" && !Array.isArray(v) && depth < 4)
      out[k] = mask(v as Record<string, unknown>, depth + 1);
    else out[k] = v;
  }
  return out;
}

export const silentLogger: Logger = createLogger({ level: "error", write: () => undefined });
