// The `doctor` answer: syncbot's own standing, one line per check (ok / warn / fail) with what to do.

import type { DoctorLine } from "../../domain/doctor/runDoctor";
import { markdownText as md } from "./markdownText";
import { type Card, renderCard } from "./renderCard";

const LOOK: Record<DoctorLine["status"], { mark: string; color: string }> = {
  ok: { mark: "OK", color: "Good" },
  warn: { mark: "WARN", color: "Warning" },
  fail: { mark: "FAIL", color: "Attention" },
};

export function doctorCard(lines: readonly DoctorLine[]): Card {
  const fails = lines.filter((l) => l.status === "fail").length;
  const warns = lines.filter((l) => l.status === "warn").length;
  return renderCard("doctor", {
    title: "syncbot doctor",
    summary:
      fails > 0
        ? `${fails} failure(s), ${warns} warning(s).`
        : warns > 0
          ? `No failures, ${warns} warning(s).`
          : "Everything checked is in order.",
    summaryColor: fails > 0 ? "Attention" : warns > 0 ? "Warning" : "Good",
    // Details quote Graph, UMP and store errors: escaped like every other text syncbot did not write.
    lines: lines.map((l) => ({ ...LOOK[l.status], check: md(l.check), detail: md(l.detail), todo: md(l.todo ?? "") })),
  });
}
