// Step (hand-off mode, or a service other than "ump"): seal the new values and send the operator a
// one-time link; the run waits until they press "Applied in UMP".

import { SyncbotError } from "../errors";
import type { ProvisioningStep } from "./stepContext";
import { STEP_TITLES } from "../stepTitles";

export const handoff: ProvisioningStep = {
  name: "handoff",
  title: STEP_TITLES.handoff,
  awaiting: (request) => !!request.run?.handoff,
  async run(ctx) {
    const { services: s, request, run, spec } = ctx;
    if (!run.newSecret) return { status: "skipped", detail: "no new secret to hand over" };
    if (!s.handoff) throw new SyncbotError("config_invalid", "Handing over a secret needs HANDOFF_KEY.");
    const value = s.held.peek(run.id);
    if (!value) throw new SyncbotError("internal", "the new secret's value is no longer held; run again");
    const operator = request.approver ?? request.requester;
    await ctx.fence();
    const offered = await s.handoff.offer({
      request,
      operator,
      values: {
        clientId: run.appId!,
        clientSecret: value,
        redirectUrl: spec.redirectUrl,
        portalUrl: spec.portalUrl,
        expiresAt: run.newSecret.endDateTime,
      },
    });
    s.held.drop(run.id);
    await s.audit(
      request,
      "syncbot",
      "handoff.offered",
      "ok",
      `link sent to ${operator.name}, expires ${offered.expiresAt}`,
    );
    return {
      status: "running",
      pause: true,
      detail: `waiting for ${operator.name} to apply the values in UMP (link valid until ${offered.expiresAt.slice(11, 16)} UTC)`,
      patch: { handoff: { tokenHash: offered.tokenHash, expiresAt: offered.expiresAt } },
    };
  },
};
