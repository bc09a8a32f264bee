// chart.js — small SVG line charts for usage series, drawn with DOM calls (no inline style, no
// library). Each chart is a <figure> whose SVG has a text alternative, with the same numbers in a
// table underneath for screen readers and for reading exact values.

import { h, s, newId } from "/console/dom.js";

const W = 720;
const H = 240;
const PAD = { l: 72, r: 16, t: 12, b: 36 };

/**
 * A "nice" upper bound for an axis: 1, 2, 4 or 5 times a power of ten in the value's own unit
 * (bytes are measured in powers of 1024, so a byte axis reads 0, 2, 4, 6, 8 KiB, not 19.5 KiB).
 */
function niceMax(v, binary) {
  if (v <= 0) return binary ? 1024 : 1;
  const unit = binary ? 1024 ** Math.max(0, Math.floor(Math.log(v) / Math.log(1024))) : 1;
  const x = v / unit;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 4, 5, 8, 10]) if (m * p >= x) return m * p * unit;
  return 10 * p * unit;
}

function fmtTick(ts, interval) {
  const d = new Date(ts * 1000).toISOString();
  return interval === "day" ? d.slice(5, 10) : `${d.slice(5, 10)} ${d.slice(11, 16)}`;
}

/**
 * lineChart({title, interval, format, series: [{name, key, cls, summary?}], rows, binary?}) —
 * rows are the usage API's series entries ({ts, …}); each series plots rows[i][key]; `binary`
 * scales the axis in powers of 1024 (bytes).
 */
export function lineChart({ title, interval, format, series, rows, binary = false }) {
  const titleId = newId("chart");
  const descId = newId("chart-desc");
  const xs = rows.map((r) => r.ts);
  const x0 = xs[0];
  const x1 = xs[xs.length - 1];
  const max = niceMax(Math.max(0, ...series.flatMap((se) => rows.map((r) => Number(r[se.key]) || 0))), binary);
  const px = (ts) => PAD.l + (x1 === x0 ? (W - PAD.l - PAD.r) / 2 : ((ts - x0) / (x1 - x0)) * (W - PAD.l - PAD.r));
  const py = (v) => H - PAD.b - (v / max) * (H - PAD.t - PAD.b);

  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = py(f * max);
    return s(
      "g",
      { class: "grid" },
      s("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y }),
      s("text", { x: PAD.l - 8, y: y + 4, "text-anchor": "end" }, format(f * max)),
    );
  });
  const ticks = [];
  const n = rows.length;
  const step = Math.max(1, Math.ceil(n / 6));
  for (let i = 0; i < n; i += step) ticks.push(s("text", { x: px(xs[i]), y: H - PAD.b + 20, "text-anchor": "middle" }, fmtTick(xs[i], interval)));

  const lines = series.map((se) => {
    const pts = rows.map((r) => [px(r.ts), py(Number(r[se.key]) || 0)]);
    const d = pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    return s(
      "g",
      { class: `series ${se.cls}`, "data-series": se.key },
      s("path", { d }),
      n <= 100 ? pts.map(([x, y]) => s("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5 })) : null,
    );
  });

  const total = (key) => rows.reduce((a, r) => a + (Number(r[key]) || 0), 0);
  const summary = series.map((se) => `${se.name}: ${se.summary === "last" ? format(Number(rows[rows.length - 1]?.[se.key]) || 0) + " at the end" : format(total(se.key)) + " in total"}`).join("; ");

  return h(
    "figure",
    { class: "chart" },
    h("figcaption", { id: titleId }, title),
    s(
      "svg",
      { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": titleId, "aria-describedby": descId, preserveAspectRatio: "xMidYMid meet" },
      s("g", { class: "axes" }, s("line", { x1: PAD.l, x2: PAD.l, y1: PAD.t, y2: H - PAD.b }), s("line", { x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b })),
      grid,
      s("g", { class: "ticks" }, ticks),
      lines,
    ),
    h("p", { id: descId, class: "chart-summary" }, summary),
    h(
      "ul",
      { class: "legend" },
      series.map((se) => h("li", { class: se.cls }, h("span", { class: "swatch", "aria-hidden": "true" }), se.name)),
    ),
    h(
      "details",
      { class: "chart-data" },
      h("summary", {}, `${title}: data table`),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, interval === "day" ? "Day (UTC)" : "Hour (UTC)"), series.map((se) => h("th", { scope: "col" }, se.name)))),
          h(
            "tbody",
            {},
            rows.map((r) => h("tr", {}, h("td", {}, fmtTick(r.ts, interval)), series.map((se) => h("td", {}, format(Number(r[se.key]) || 0))))),
          ),
        ),
      ),
    ),
  );
}
