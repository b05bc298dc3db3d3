// The JSON body botframework-connector sends for an Activity, without its serializer: the connector
// client walks the whole Activity mapper per post (tens of KB of garbage); this writes the same bytes.

/**
 * Key order and kinds of botframework-connector 4.23 `Mappers.Activity` and the models it nests
 * (connectorApi/models/mappers.js). The SDK writes model properties in mapper order, drops keys the
 * model does not have, and writes DateTime values as ISO strings; so does toWireActivity.
 */
type Kind = "plain" | "date" | "account" | "conversation" | "accounts" | "attachments";

const ACCOUNT_KEYS = ["id", "name", "aadObjectId", "role", "properties"] as const;
const CONVERSATION_KEYS = [
  "isGroup",
  "conversationType",
  "id",
  "name",
  "aadObjectId",
  "role",
  "tenantId",
  "properties",
];
const ATTACHMENT_KEYS = ["contentType", "contentUrl", "content", "name", "thumbnailUrl"];

const ACTIVITY: ReadonlyArray<readonly [string, Kind]> = [
  ["type", "plain"],
  ["id", "plain"],
  ["timestamp", "date"],
  ["localTimestamp", "date"],
  ["localTimezone", "plain"],
  ["callerId", "plain"],
  ["serviceUrl", "plain"],
  ["channelId", "plain"],
  ["from", "account"],
  ["conversation", "conversation"],
  ["recipient", "account"],
  ["textFormat", "plain"],
  ["attachmentLayout", "plain"],
  ["membersAdded", "accounts"],
  ["membersRemoved", "accounts"],
  // The composites below (reactions, suggested actions, entities, relatesTo, text highlights, semantic
  // action) go as given: proactive posts never carry them.
  ["reactionsAdded", "plain"],
  ["reactionsRemoved", "plain"],
  ["topicName", "plain"],
  ["historyDisclosed", "plain"],
  ["locale", "plain"],
  ["text", "plain"],
  ["speak", "plain"],
  ["inputHint", "plain"],
  ["summary", "plain"],
  ["suggestedActions", "plain"],
  ["attachments", "attachments"],
  ["entities", "plain"],
  ["channelData", "plain"],
  ["action", "plain"],
  ["replyToId", "plain"],
  ["label", "plain"],
  ["valueType", "plain"],
  ["value", "plain"],
  ["name", "plain"],
  ["relatesTo", "plain"],
  ["code", "plain"],
  ["expiration", "date"],
  ["importance", "plain"],
  ["deliveryMode", "plain"],
  ["listenFor", "plain"],
  ["textHighlights", "plain"],
  ["semanticAction", "plain"],
];

type Json = Record<string, unknown>;

/** The keys of `keys` that `source` has (not undefined), in that order; null kept as the SDK keeps it. */
function pick(source: unknown, keys: readonly string[]): unknown {
  if (source === null || typeof source !== "object") return source;
  const out: Json = {};
  for (const key of keys) {
    const value = (source as Json)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function wire(kind: Kind, value: unknown): unknown {
  if (value === null) return null;
  switch (kind) {
    case "date":
      return new Date(value as string | number | Date).toISOString();
    case "account":
      return pick(value, ACCOUNT_KEYS);
    case "conversation":
      return pick(value, CONVERSATION_KEYS);
    case "accounts":
      return Array.isArray(value) ? value.map((a) => pick(a, ACCOUNT_KEYS)) : value;
    case "attachments":
      return Array.isArray(value) ? value.map((a) => pick(a, ATTACHMENT_KEYS)) : value;
    default:
      return value;
  }
}

/** The activity as the connector client would serialize it (object; JSON.stringify it to send). */
export function toWireActivity(activity: object): Json {
  const out: Json = {};
  for (const [key, kind] of ACTIVITY) {
    const value = (activity as Json)[key];
    if (value !== undefined) out[key] = wire(kind, value);
  }
  return out;
}
