/** `npm run gen:protocol`: write src/common/protocol.ts from the daemon's protocol module. */
import { writeFileSync } from "node:fs";
import path from "node:path";

import { PROTOCOL_FILE, renderProtocol } from "../common/protocolGen";
import { readProtocolJson } from "../common/protocolSource";

const extensionDir = process.argv[2] ?? process.cwd();
const python = process.env.EXPERIENCE_PYTHON ?? "python3";
const source = readProtocolJson(python, extensionDir);
if (source.kind !== "ok") {
  process.stderr.write(`${source.message}\n`);
  process.exit(1);
}
const target = path.join(extensionDir, PROTOCOL_FILE);
writeFileSync(target, renderProtocol(source.protocol));
process.stderr.write(`wrote ${target}\n`);
