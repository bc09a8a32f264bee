// view-basins.js — basins and streams (admin), through the S2 API (/v1) with the root token:
// the basins, a basin's configuration, storage and streams (paged by name, 100 at a time, with a
// prefix filter, so a basin of thousands of streams stays quick), and one stream's configuration,
// tail position and storage.

import { h, clear } from "/console/dom.js";
import { api, seg } from "/console/api.js";
import { cursorPages, empty, facts, field, fmtBytes, fmtRetention, fmtTime, link, load, table } from "/console/ui.js";
import { go } from "/console/app.js";

const PAGE = 100;

/** Pages through an S2 list with start_after: fetchPage(after) resolves to an S2 listing. */
function pagedList({ fetchPage, ...rest }) {
  return cursorPages({
    ...rest,
    first: "",
    fetchPage: async (after) => {
      const { items, hasMore, lastName } = await fetchPage(after);
      return { items, next: hasMore ? lastName : null };
    },
  });
}

export function basinsView(main) {
  const list = h("div");
  main.append(h("h1", {}, "Basins"), h("p", {}, "Every basin of this server. Organizations on a paid plan have their own; the others share one."), list);
  pagedList({
    container: list,
    label: "basins",
    fetchPage: async (after) => {
      const r = await api(`/v1/basins?limit=${PAGE}${after ? `&start_after=${encodeURIComponent(after)}` : ""}`);
      return { items: r.basins, hasMore: r.has_more, lastName: r.basins.at(-1)?.name };
    },
    render: (basins) =>
      table(
        "Basins",
        [
          { label: "Basin", cell: (b) => link(`/basins/${seg(b.name)}`, b.name) },
          { label: "State", cell: (b) => b.state },
          { label: "Location", cell: (b) => b.location ?? "—" },
          { label: "Created", cell: (b) => fmtTime(b.created_at) },
        ],
        basins,
        { rowLabel: (b) => b.name },
      ),
    emptyState: () => empty("No basins yet.", "Basins appear when an organization gets a paid plan, or when created with the S2 API or `weir create-basin`."),
  }).reset();
}

/** The latest value of a storage gauge over the last two hours (hourly is its finest). */
async function storageNow(path) {
  const end = Math.floor(Date.now() / 1000);
  const r = await api(`${path}?set=storage&start=${end - 7200}&end=${end}&interval=hour`);
  const g = r.values.find((v) => v.gauge)?.gauge;
  const last = g?.values?.at(-1);
  return last ? last[1] : 0;
}

export function basinView(main, [basin]) {
  const cfg = h("section", { class: "card", "aria-label": "Configuration" });
  const list = h("div");
  const prefix = h("input", { id: "stream-prefix", type: "search", autocomplete: "off", placeholder: "e.g. org/ or env/dev/" });
  main.append(
    h("p", { class: "crumbs" }, link("/basins", "Basins"), " / "),
    h("h1", {}, basin),
    cfg,
    h("section", { class: "card", "aria-labelledby": "streams-title" }, h("h2", { id: "streams-title" }, "Streams"), filterForm(), list),
  );
  load(
    cfg,
    "Loading the basin…",
    async () => {
      const [c, bytes] = await Promise.all([api(`/v1/basins/${seg(basin)}`), storageNow(`/v1/metrics/${seg(basin)}`).catch(() => null)]);
      return { c, bytes };
    },
    ({ c, bytes }) => {
      const d = c.default_stream_config ?? {};
      cfg.append(
        facts([
          ["Storage class", d.storage_class ?? "—"],
          ["Retention", fmtRetention(d.retention_policy)],
          ["Delete on empty", d.delete_on_empty?.min_age_secs ? `after ${d.delete_on_empty.min_age_secs} s` : "never"],
          ["Create streams on append / read", `${c.create_stream_on_append ? "yes" : "no"} / ${c.create_stream_on_read ? "yes" : "no"}`],
          ["Stored", bytes === null ? "—" : fmtBytes(bytes)],
        ]),
      );
    },
  );
  const streams = pagedList({
    container: list,
    label: "streams",
    fetchPage: async (after) => {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (prefix.value) q.set("prefix", prefix.value);
      if (after) q.set("start_after", after);
      const r = await api(`/v1/streams?${q}`, { basin });
      return { items: r.streams, hasMore: r.has_more, lastName: r.streams.at(-1)?.name };
    },
    render: (items) =>
      table(
        `Streams of ${basin}`,
        [
          { label: "Stream", class: "mono", cell: (st) => link(`/basins/${seg(basin)}/streams/${seg(st.name)}`, st.name) },
          { label: "Created", cell: (st) => fmtTime(st.created_at) },
          { label: "State", cell: (st) => (st.deleted_at ? `deleting since ${fmtTime(st.deleted_at)}` : "active") },
          { label: "Live", cell: (st) => link(`/tail?basin=${encodeURIComponent(basin)}&stream=${encodeURIComponent(st.name)}`, "Tail", { "aria-label": `Live tail of ${st.name}` }) },
        ],
        items,
        { rowLabel: (st) => st.name },
      ),
    emptyState: () =>
      prefix.value ? empty(`No stream starts with “${prefix.value}”.`, "Try a shorter prefix.") : empty("This basin has no streams yet.", "Streams appear on their first append (or read, if the basin creates streams on read)."),
  });
  function filterForm() {
    const form = h("form", { class: "inline-form", role: "search", "aria-label": "Filter streams" }, field("Name prefix", prefix), h("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      streams.reset();
    });
    return form;
  }
  streams.reset();
}

export function streamView(main, [basin, stream]) {
  const card = h("section", { class: "card", "aria-label": "Stream" });
  main.append(
    h("p", { class: "crumbs" }, link("/basins", "Basins"), " / ", link(`/basins/${seg(basin)}`, basin), " / "),
    h("h1", { class: "mono" }, stream),
    card,
  );
  const refresh = () =>
    load(
      card,
      "Loading the stream…",
      async () => {
        const [c, t, bytes] = await Promise.all([
          api(`/v1/streams/${seg(stream)}`, { basin }),
          api(`/v1/streams/${seg(stream)}/records/tail`, { basin }),
          storageNow(`/v1/metrics/${seg(basin)}/${seg(stream)}`).catch(() => null),
        ]);
        return { c, t, bytes };
      },
      ({ c, t, bytes }) => {
        card.append(
          facts([
            ["Tail (next seq)", h("span", { "data-field": "tail" }, String(t.tail.seq_num))],
            ["Last record at", t.tail.timestamp ? fmtTime(t.tail.timestamp) : "—"],
            ["Stored", bytes === null ? "—" : fmtBytes(bytes)],
            ["Storage class", c.storage_class ?? "—"],
            ["Retention", fmtRetention(c.retention_policy)],
            ["Timestamping", c.timestamping ? `${c.timestamping.mode ?? "default"}${c.timestamping.uncapped ? ", uncapped" : ""}` : "default"],
            ["Delete on empty", c.delete_on_empty?.min_age_secs ? `after ${c.delete_on_empty.min_age_secs} s` : "never"],
          ]),
          h(
            "div",
            { class: "controls" },
            h("button", { type: "button", class: "primary", onclick: () => go(`/tail?basin=${encodeURIComponent(basin)}&stream=${encodeURIComponent(stream)}`) }, "Live tail"),
            h("button", { type: "button", onclick: () => refresh() }, "Refresh"),
          ),
        );
      },
    );
  refresh();
  return () => clear(card);
}
