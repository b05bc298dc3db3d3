// Plan from live state: re-running provision for a healthy customer changes nothing, and a registration
// changed by hand gets a plan that restores exactly the fields that drifted, while what others added
// (redirect URIs, extra permissions) is kept. The secret UMP holds stays untouched by a field repair.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GRAPH_RESOURCE_APP_ID } from "../../src/domain/spec";
import type { GraphApplication } from "../emulators/graphEmulator";
import { expectConsistent } from "../support/invariants";
import {
  allActionTitles,
  cardText,
  expectNoSecretIn,
  runFinished,
  type Stack,
  startStack,
  USERS,
} from "../support/stack";

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  // Success or failure, no secret value reached a message, card, log line or the database.
  expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack.stop();
});

const OUR_URI = "https://contoso.ump.example.net/authenticate/OAuth2Callback";
const finished = runFinished;
const graphWrites = () => stack.graph.writes();

async function review() {
  const { activityId, card } = await stack.reviewPlan();
  return { activityId, card };
}

async function provisioned(): Promise<{ app: GraphApplication; keyId: string }> {
  const { card } = await stack.provision();
  expect(card.body[0].text).toBe("Provision for contoso: succeeded");
  const app = stack.graph.applications()[0]!;
  return { app, keyId: app.passwordCredentials[0]!.keyId };
}

describe("re-running provision for an unchanged, healthy customer", () => {
  it("shows nothing to change, offers no Approve, and makes no Graph or UMP write", async () => {
    await provisioned();
    stack.graph.resetRequests();
    stack.ump.resetRequests();
    const { card } = await review();
    const text = cardText(card);
    expect(text).toMatch(/Check contoso/);
    expect(text).toMatch(/match the desired spec/);
    expect(allActionTitles(card)).not.toContain("Approve");
    expect(graphWrites()).toHaveLength(0);
    expect(stack.ump.requests.filter((r) => r.method !== "GET")).toHaveLength(0);
    expect((await stack.bot.repo.listRequests()).filter((r) => r.state === "planned")).toHaveLength(0);
  });

  it("redirect URIs and permissions someone else added are no drift and are kept", async () => {
    const { app } = await provisioned();
    stack.graph.mutateApplication(app.id, (a) => {
      a.web.redirectUris.push("https://contoso.example.com/other-callback");
      a.requiredResourceAccess.push({
        resourceAppId: "00000002-0000-0ff1-ce00-000000000000",
        resourceAccess: [{ id: "dc890d15-9560-4a4c-9b7f-a736ec74ec40", type: "Role" }],
      });
    });
    stack.graph.resetRequests();
    const { card } = await review();
    expect(cardText(card)).toMatch(/match the desired spec/);
    expect(graphWrites()).toHaveLength(0);
  });
});

type Drift = {
  name: string;
  field: string;
  mutate: (a: GraphApplication) => void;
  check: (a: GraphApplication) => void;
};

const DRIFTS: Drift[] = [
  {
    name: "our redirect URI removed (another one kept)",
    field: "web.redirectUris",
    mutate: (a) => {
      a.web.redirectUris = ["https://contoso.example.com/hand-added"];
    },
    check: (a) =>
      expect([...a.web.redirectUris].sort()).toEqual(["https://contoso.example.com/hand-added", OUR_URI].sort()),
  },
  {
    name: "implicit grant turned off",
    field: "web.implicitGrantSettings",
    mutate: (a) => {
      a.web.implicitGrantSettings = { enableAccessTokenIssuance: false, enableIdTokenIssuance: true };
    },
    check: (a) =>
      expect(a.web.implicitGrantSettings).toEqual({ enableAccessTokenIssuance: true, enableIdTokenIssuance: true }),
  },
  {
    name: "a permission dropped",
    field: "requiredResourceAccess",
    mutate: (a) => {
      const g = a.requiredResourceAccess.find((r) => r.resourceAppId === GRAPH_RESOURCE_APP_ID)!;
      g.resourceAccess = g.resourceAccess.filter((x) => x.id !== "c5366453-9fb0-48a5-a156-24f0c49a4b84");
    },
    check: (a) => {
      const g = a.requiredResourceAccess.find((r) => r.resourceAppId === GRAPH_RESOURCE_APP_ID)!;
      expect(g.resourceAccess).toHaveLength(9);
      expect(g.resourceAccess.some((x) => x.id === "c5366453-9fb0-48a5-a156-24f0c49a4b84" && x.type === "Scope")).toBe(
        true,
      );
    },
  },
  {
    name: "public client flows off",
    field: "isFallbackPublicClient",
    mutate: (a) => {
      a.isFallbackPublicClient = false;
    },
    check: (a) => expect(a.isFallbackPublicClient).toBe(true),
  },
  {
    name: "audience changed to single tenant",
    field: "signInAudience",
    mutate: (a) => {
      a.signInAudience = "AzureADMyOrg";
    },
    check: (a) => expect(a.signInAudience).toBe("AzureADMultipleOrgs"),
  },
];

describe("a registration changed by hand gets a plan that restores exactly that field", () => {
  for (const d of DRIFTS) {
    it(d.name, async () => {
      const { app, keyId } = await provisioned();
      const before = stack.graph.application(app.id)!;
      stack.graph.mutateApplication(app.id, d.mutate);
      const { activityId, card } = await review();
      const text = cardText(card);
      expect(text).toMatch(/approval needed/);
      const request = (await stack.bot.repo.listRequests()).find((r) => r.state === "planned")!;
      expect(request.plan.changes.map((c) => (c.kind === "app.update" ? `${c.kind}:${c.field}` : c.kind))).toEqual([
        `app.update:${d.field}`,
      ]);
      expect(text).toContain(`Entra: set ${d.field}`);
      expect(text).not.toMatch(/client secret|UMP ump-contoso: write/);

      stack.graph.resetRequests();
      await stack.seesButton(USERS.approver, activityId, "Approve");
      await stack.press(activityId, "Approve", { user: USERS.approver });
      const done = await stack.waitForCard(activityId, finished);
      expect(done.body[0].text).toBe("Provision for contoso: succeeded");
      const after = stack.graph.application(app.id)!;
      d.check(after);
      // Only that field moved; the secret UMP holds is the same one.
      const root = d.field.split(".")[0] as keyof GraphApplication;
      for (const k of [
        "displayName",
        "signInAudience",
        "tags",
        "web",
        "isFallbackPublicClient",
        "requiredResourceAccess",
      ] as const)
        if (k !== root) expect(after[k], k).toEqual(before[k]);
      expect(after.passwordCredentials.map((p) => p.keyId)).toEqual([keyId]);
      expect(stack.graph.writes().filter((w) => w.path.includes("Password"))).toHaveLength(0);
      const writes = stack.graph.writes();
      expect(writes).toHaveLength(1);
      await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo });
    });
  }
});
