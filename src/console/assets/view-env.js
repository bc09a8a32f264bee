// view-env.js — an environment's sessions and runs (signed in with its secret key), through the
// public /api/v1 routes: open/closed, basin stamps, current run, with cursor paging.

import { h } from "/console/dom.js";
import { api, currentSession } from "/console/api.js";
import { cursorPages, empty, field, fmtTime, link, table } from "/console/ui.js";

const stamp = (basin) => basin ?? h("span", { class: "muted" }, "shared basin");

/** Cursor paging over {data, pagination: {next}} answers, 20 at a time. */
function cursorList({ path, query, ...rest }) {
  return cursorPages({
    ...rest,
    first: null,
    fetchPage: async (after) => {
      const q = new URLSearchParams(query());
      q.set("page[size]", "20");
      if (after) q.set("page[after]", after);
      const r = await api(`${path}?${q}`);
      return { items: r.data, next: r.pagination?.next };
    },
  });
}

function envIntro() {
  const s = currentSession();
  return h("p", { class: "muted" }, `Environment ${s.envId ?? "(unknown id)"}.`);
}

export function sessionsView(main) {
  const status = h("select", { id: "session-status" }, h("option", { value: "" }, "Any"), h("option", { value: "ACTIVE" }, "Active"), h("option", { value: "CLOSED" }, "Closed"), h("option", { value: "EXPIRED" }, "Expired"));
  const list = h("div");
  main.append(h("h1", {}, "Sessions"), envIntro(), h("div", { class: "controls" }, field("Status", status)), list);
  const sessions = cursorList({
    container: list,
    label: "sessions",
    path: "/api/v1/sessions",
    query: () => (status.value ? { "filter[status]": status.value } : {}),
    render: (items) =>
      table(
        "Sessions",
        [
          { label: "Session", class: "mono", cell: (x) => [x.externalId ?? x.id, x.externalId ? h("div", { class: "muted" }, x.id) : null] },
          { label: "Type", cell: (x) => x.type },
          { label: "Status", cell: (x) => h("span", { class: x.closed ? "badge closed" : "badge open" }, x.closed ? "closed" : "open") },
          { label: "Created", cell: (x) => fmtTime(x.createdAt) },
          { label: "Closed", cell: (x) => (x.closedAt ? [fmtTime(x.closedAt), x.closedReason ? h("div", { class: "muted" }, x.closedReason) : null] : "—") },
          { label: "Basin stamp", cell: (x) => stamp(x.streamBasinName) },
          { label: "Current run", class: "mono", cell: (x) => x.currentRunId ?? "—" },
          {
            label: "Channels",
            cell: (x) => [
              link(`/tail?session=${encodeURIComponent(x.id)}&io=out`, ".out", { "aria-label": `Live tail of ${x.externalId ?? x.id} .out` }),
              " ",
              link(`/tail?session=${encodeURIComponent(x.id)}&io=in`, ".in", { "aria-label": `Live tail of ${x.externalId ?? x.id} .in` }),
            ],
          },
        ],
        items,
        { rowLabel: (x) => x.externalId ?? x.id },
      ),
    emptyState: () =>
      status.value
        ? empty("No sessions with this status.", "Choose “Any” to see them all.")
        : empty("No sessions yet.", "Your application server creates them with POST /api/v1/sessions (the SDK's sessions.start)."),
  });
  status.addEventListener("change", () => sessions.reset());
  sessions.reset();
}

export function runsView(main) {
  const list = h("div");
  main.append(h("h1", {}, "Runs"), envIntro(), list);
  cursorList({
    container: list,
    label: "runs",
    path: "/api/v1/runs",
    query: () => ({}),
    render: (items) =>
      table(
        "Runs",
        [
          { label: "Run", class: "mono", cell: (r) => r.id },
          { label: "Task", cell: (r) => r.taskIdentifier || "—" },
          { label: "Status", cell: (r) => h("span", { class: r.completedAt ? "badge closed" : "badge open" }, r.completedAt ? "completed" : "open") },
          { label: "Created", cell: (r) => fmtTime(r.createdAt) },
          { label: "Completed", cell: (r) => fmtTime(r.completedAt) },
          { label: "Basin stamp", cell: (r) => stamp(r.streamBasinName) },
          { label: "Parent / root", class: "mono", cell: (r) => (r.parentRunId ? `${r.parentRunId} / ${r.rootRunId}` : "—") },
        ],
        items,
        { rowLabel: (r) => r.id },
      ),
    emptyState: () => empty("No runs yet.", "Runs are registered by POST /api/v1/runs and by each new session."),
  }).reset();
}
