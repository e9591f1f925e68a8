// Draws media/icon.png (128x128, the marketplace icon) with no image library: a dark rounded square holding
// four "text" lines of a weight file, one removed (red, "-") and one added (green, "+"): weights that are
// text, trained by diffs. Run: node scripts/make-icon.mjs
import { Buffer } from "node:buffer";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const SIZE = 128;
const px = new Uint8Array(SIZE * SIZE * 4); // RGBA, transparent

function fill(x0, y0, x1, y1, [r, g, b], radius = 0) {
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const dx = Math.max(x0 + radius - x - 0.5, 0, x + 0.5 - (x1 - radius));
      const dy = Math.max(y0 + radius - y - 0.5, 0, y + 0.5 - (y1 - radius));
      const outside = Math.hypot(dx, dy) - radius; // > 0: outside the rounded corner
      const alpha = radius ? Math.min(1, Math.max(0, 0.5 - outside)) : 1;
      if (alpha <= 0) {
        continue;
      }
      const i = (y * SIZE + x) * 4;
      const a0 = px[i + 3] / 255;
      const a = alpha + a0 * (1 - alpha);
      px[i] = Math.round((r * alpha + px[i] * a0 * (1 - alpha)) / a);
      px[i + 1] = Math.round((g * alpha + px[i + 1] * a0 * (1 - alpha)) / a);
      px[i + 2] = Math.round((b * alpha + px[i + 2] * a0 * (1 - alpha)) / a);
      px[i + 3] = Math.round(a * 255);
    }
  }
}

const TEXT = [204, 204, 204];
const RED = [241, 76, 76];
const GREEN = [115, 201, 145];
fill(4, 4, 124, 124, [30, 36, 48], 22); // background
fill(22, 26, 88, 36, TEXT, 5);
fill(22, 46, 26, 56, RED, 0); // "-" marker bar
fill(30, 46, 104, 56, RED, 5);
fill(22, 66, 26, 76, GREEN, 0); // "+" marker bar
fill(30, 66, 96, 76, GREEN, 5);
fill(22, 86, 78, 96, TEXT, 5);
fill(100, 80, 108, 102, GREEN, 2); // a plus sign, bottom right
fill(93, 87, 115, 95, GREEN, 2);

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0; // no filter
  Buffer.from(px.buffer, y * SIZE * 4, SIZE * 4).copy(raw, y * (SIZE * 4 + 1) + 1);
}
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk("IHDR", header),
  chunk("IDAT", zlib.deflateSync(raw, { level: 9 })),
  chunk("IEND", Buffer.alloc(0)),
]);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
writeFileSync(path.join(root, "media", "icon.png"), png);
process.stdout.write(`wrote media/icon.png (${png.length} bytes)\n`);
