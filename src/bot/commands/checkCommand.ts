// `check <customer>`: live drift between the registration/UMP and the desired spec (reads only).

import { describeError } from "../../domain/errors";
import { isCustomerSlug } from "../../domain/spec";
import type { Command } from "../botKit";
import { driftCard } from "../cards/driftCard";
import { type CommandAnswer, postInTime } from "../postInTime";
import { echo } from "../cards/markdownText";

export const checkCommand: Command = {
  name: "check",
  async run(context, args, _actor, kit) {
    const customer = (args[0] ?? "").toLowerCase();
    if (!isCustomerSlug(customer) || !(await kit.repo.getRegistration(customer)))
      return void (await context.sendActivity(
        `syncbot manages no registration for "${echo(args[0] ?? "")}". Use provision first.`,
      ));
    const work = kit.provisioning.check(customer).then(
      (report): CommandAnswer =>
        report
          ? { card: driftCard(customer, report.params, report.differences), as: { kind: "drift", subject: customer } }
          : "The registration is gone.",
      (e): CommandAnswer => {
        const d = describeError(e);
        return {
          card: driftCard(customer, null, [], `Could not read the live state (${d.code}): ${d.message}`),
          as: { kind: "drift", subject: customer },
        };
      },
    );
    await postInTime(context, kit, work, {
      title: `Check ${customer}`,
      text: "Reading the live registration and UMP settings…",
    });
  },
};
