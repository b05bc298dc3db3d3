// `npx tsx scripts/drawIcons.ts`: draws the Teams app icons in appPackage/ from geometry, so they can
// be redrawn exactly: two sync arrows around a key (an app registration's secret kept in sync).
// color.png 192×192 full colour; outline.png 32×32 white on transparent (Teams' icon rules).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";

type Shape = (x: number, y: number) => boolean;

/** Coordinates are in [-1, 1] with y pointing down; `size` pixels are sampled 4×4 each. */
function render(size: number, paint: (x: number, y: number, cover: number) => [number, number, number, number]) {
  const png = new PNG({ width: size, height: size });
  const n = 4;
  for (let py = 0; py < size; py++)
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < n; sy++)
        for (let sx = 0; sx < n; sx++) {
          const x = ((px + (sx + 0.5) / n) / size) * 2 - 1;
          const y = ((py + (sy + 0.5) / n) / size) * 2 - 1;
          if (symbol(x, y)) hits++;
        }
      const [r, g, b, a] = paint(px / size, py / size, hits / (n * n));
      const i = (py * size + px) * 4;
      png.data[i] = r;
      png.data[i + 1] = g;
      png.data[i + 2] = b;
      png.data[i + 3] = a;
    }
  return PNG.sync.write(png);
}

const deg = (d: number) => (d * Math.PI) / 180;

function arc(radius: number, width: number, from: number, to: number): Shape {
  return (x, y) => {
    const r = Math.hypot(x, y);
    if (Math.abs(r - radius) > width / 2) return false;
    let a = Math.atan2(y, x);
    while (a < deg(from)) a += 2 * Math.PI;
    return a <= deg(to);
  };
}

/** A triangle whose tip points along the circle's direction of travel at `angle`. */
function arrowHead(radius: number, angle: number, half: number, length: number): Shape {
  const cx = radius * Math.cos(deg(angle));
  const cy = radius * Math.sin(deg(angle));
  const tx = -Math.sin(deg(angle)); // tangent, clockwise in screen coordinates
  const ty = Math.cos(deg(angle));
  const p1 = [cx + (cx / radius) * half, cy + (cy / radius) * half];
  const p2 = [cx - (cx / radius) * half, cy - (cy / radius) * half];
  const p3 = [cx + tx * length, cy + ty * length];
  return (x, y) => inTriangle(x, y, p1 as [number, number], p2 as [number, number], p3 as [number, number]);
}

function inTriangle(x: number, y: number, a: [number, number], b: [number, number], c: [number, number]): boolean {
  const s = (p: [number, number], q: [number, number]) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const d1 = s(a, b);
  const d2 = s(b, c);
  const d3 = s(c, a);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
}

const rect =
  (x0: number, y0: number, x1: number, y1: number): Shape =>
  (x, y) =>
    x >= x0 && x <= x1 && y >= y0 && y <= y1;

// Two arrows chasing each other round a circle, and a key across the middle.
const R = 0.7;
const W = 0.16;
const parts: Shape[] = [
  arc(R, W, 200, 340),
  arrowHead(R, 340, 0.2, 0.24),
  arc(R, W, 20, 160),
  arrowHead(R, 160, 0.2, 0.24),
];
const keyHead: Shape = (x, y) => {
  const d = Math.hypot(x + 0.24, y);
  return d <= 0.22 && d >= 0.1;
};
const key: Shape[] = [
  keyHead,
  rect(-0.04, -0.06, 0.42, 0.06),
  rect(0.2, 0.06, 0.28, 0.18),
  rect(0.34, 0.06, 0.42, 0.2),
];
const symbol: Shape = (x, y) => parts.some((p) => p(x, y)) || key.some((p) => p(x, y));

const dir = join(__dirname, "..", "appPackage");
// Colour: the accent blue (#1F6FEB) deepening to the bottom right, the symbol in white.
writeFileSync(
  join(dir, "color.png"),
  render(192, (u, v, cover) => {
    const t = (u + v) / 2;
    const bg = [Math.round(0x1f * (1 - 0.35 * t)), Math.round(0x6f * (1 - 0.3 * t)), Math.round(0xeb * (1 - 0.2 * t))];
    const mix = (c: number) => Math.round(c + (255 - c) * cover);
    return [mix(bg[0]!), mix(bg[1]!), mix(bg[2]!), 255];
  }),
);
// Outline: pure white, the shape carried only by alpha.
writeFileSync(
  join(dir, "outline.png"),
  render(32, (_u, _v, cover) => [255, 255, 255, Math.round(255 * cover)]),
);
process.stdout.write("wrote appPackage/color.png (192×192) and appPackage/outline.png (32×32)\n");
