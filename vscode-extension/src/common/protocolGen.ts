/** Renders `src/common/protocol.ts` from `python -m experience_daemon.protocol --json` (the single source). */

export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

export interface MethodSpec {
  kind: "request" | "notification";
  doc: string;
  progress: boolean;
  params: JsonSchema;
  result?: JsonSchema;
}

export interface ProtocolJson {
  protocolVersion: number;
  methods: Record<string, MethodSpec>;
  errors: Record<string, number>;
}

export const PROTOCOL_FILE = "src/common/protocol.ts";
export const REGENERATE = "npm --prefix vscode-extension run gen:protocol";

/** TypeScript type of a schema; titled objects become named interfaces collected in `named`. */
function typeOf(schema: JsonSchema, named: Map<string, string>, indent: string): string {
  if (schema.enum) {
    return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  }
  if (schema.anyOf) {
    return schema.anyOf.map((s) => typeOf(s, named, indent)).join(" | ");
  }
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      const item = typeOf(schema.items ?? {}, named, indent);
      return /[ |]/.test(item) ? `Array<${item}>` : `${item}[]`;
    }
    case "object":
      return schema.properties ? objectType(schema, named, indent) : "Record<string, unknown>";
    default:
      return "unknown";
  }
}

function objectType(schema: JsonSchema, named: Map<string, string>, indent: string): string {
  const body = interfaceBody(schema, named, `${indent}  `);
  if (!schema.title) {
    return `{\n${body}${indent}}`;
  }
  const text = `/** ${schema.description || schema.title} */\nexport interface ${schema.title} {\n${interfaceBody(schema, named, "  ")}}\n`;
  const seen = named.get(schema.title);
  if (seen !== undefined && seen !== text) {
    throw new Error(`the protocol names two different types ${schema.title}`);
  }
  named.set(schema.title, text);
  return schema.title;
}

function interfaceBody(schema: JsonSchema, named: Map<string, string>, indent: string): string {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {})
    .map(([name, prop]) => `${indent}${name}${required.has(name) ? "" : "?"}: ${typeOf(prop, named, indent)};\n`)
    .join("");
}

/** `experience/openRun` -> `openRun`. */
export function shortName(method: string): string {
  return method.slice(method.indexOf("/") + 1);
}

/** The whole TypeScript module (deterministic: sorted by name). */
export function renderProtocol(protocol: ProtocolJson): string {
  const named = new Map<string, string>();
  const methods = Object.entries(protocol.methods).sort(([a], [b]) => (a < b ? -1 : 1));
  const requests: string[] = [];
  const notifications: string[] = [];
  for (const [name, spec] of methods) {
    const params = typeOf(spec.params, named, "  ");
    if (spec.kind === "request") {
      const result = typeOf(spec.result ?? {}, named, "  ");
      requests.push(`  /** ${spec.doc} */\n  ${JSON.stringify(name)}: { params: ${params}; result: ${result} };\n`);
    } else {
      notifications.push(`  /** ${spec.doc} */\n  ${JSON.stringify(name)}: ${params};\n`);
    }
  }
  const interfaces = [...named.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, text]) => text);
  const constants = methods.map(([name]) => `  ${shortName(name)}: ${JSON.stringify(name)},\n`).join("");
  const progress = methods.filter(([, s]) => s.progress).map(([name]) => JSON.stringify(name));
  const errors = Object.entries(protocol.errors)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `  ${k}: ${v},\n`)
    .join("");
  return [
    "// Generated from `python -m experience_daemon.protocol --json`; do not edit by hand.",
    `// Regenerate with \`${REGENERATE}\` (a unit test fails when this copy is stale).`,
    "",
    `export const PROTOCOL_VERSION = ${protocol.protocolVersion};`,
    "",
    interfaces.join("\n"),
    "/** Method names. */",
    `export const Method = {\n${constants}} as const;`,
    "",
    "/** Requests (client -> daemon): params and result of each. */",
    `export interface Requests {\n${requests.join("")}}`,
    "",
    "/** Notifications (daemon -> client). */",
    `export interface Notifications {\n${notifications.join("")}}`,
    "",
    "/** Requests that report work-done progress. */",
    `export const PROGRESS_METHODS: readonly string[] = [${progress.join(", ")}];`,
    "",
    "/** JSON-RPC error codes. */",
    `export const ErrorCode = {\n${errors}} as const;`,
    "",
    "export type RequestMethod = keyof Requests;",
    "export type NotificationMethod = keyof Notifications;",
    'export type ParamsOf<M extends RequestMethod> = Requests[M]["params"];',
    'export type ResultOf<M extends RequestMethod> = Requests[M]["result"];',
    "",
  ].join("\n");
}
