// Text syncbot did not write is shown as typed: Markdown in it is escaped, not rendered.

import { describe, expect, it } from "vitest";
import { approvalCard } from "../../src/bot/cards/approvalCard";
import { markdownText } from "../../src/bot/cards/markdownText";
import { freshPlan, PARAMS } from "../support/fixtures";

describe("markdownText", () => {
  it.each([
    ["**bold**", "\\*\\*bold\\*\\*"],
    ["[click](https://evil.example)", "\\[click\\](https://evil.example)"],
    ["_italic_ here", "\\_italic\\_ here"],
    ["snake_case_code stays", "snake_case_code stays"],
    ["- not a list", "\\- not a list"],
    ["1. not a list", "1\\. not a list"],
    ["# not a heading", "\\# not a heading"],
    ["a\\b `c` ~d~ <at>x</at>", "a\\\\b \\`c\\` \\~d\\~ \\<at\\>x\\</at\\>"],
    ["two\nlines\r\n\r\nhere", "two lines here"],
    ["Alex Wilber", "Alex Wilber"],
    ["failed (upstream_rejected): Graph BadRequest", "failed (upstream_rejected): Graph BadRequest"],
  ])("%j → %j", (input, expected) => {
    expect(markdownText(input)).toBe(expected);
  });
});

describe("cards escape user text", () => {
  it("shows a requester's name with Markdown as typed on the approval card", () => {
    const card = approvalCard({
      request: {
        id: "req-1",
        customer: "contoso",
        kind: "provision",
        params: PARAMS,
        service: "ump",
        state: "planned",
        requester: { id: "aaaaaaaa-0000-0000-0000-000000000001", name: "**Boss** [me](https://evil.example)" },
        tenantId: "t",
        conversation: {},
        plan: freshPlan(),
        createdAt: "2025-03-01T11:00:00.000Z",
        expiresAt: "2025-03-02T11:00:00.000Z",
        correlationId: "corr-1",
      },
      spTenantId: "t",
      allowSelfApproval: false,
      notice: "_x_ pressed Approve",
    });
    const json = JSON.stringify(card);
    expect(json).toContain(JSON.stringify("\\*\\*Boss\\*\\* \\[me\\](https://evil.example) at 2025-03-01 11:00 UTC"));
    expect(json).toContain(JSON.stringify("\\_x\\_ pressed Approve"));
    expect(json).not.toContain("**Boss**");
  });
});
