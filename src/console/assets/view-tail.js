// view-tail.js — a live tail: any stream (root token, S2 read session) or a session channel
// (environment key, the realtime SSE route). Records appear as the server makes them durable;
// Pause closes the connection, Resume catches up from the last event id; a dropped connection
// reconnects by itself the same way. At most MAX_SHOWN records stay on the page.

import { h, clear } from "/console/dom.js";
import { currentSession } from "/console/api.js";
import { field, fmtTime } from "/console/ui.js";
import { Tail, s2Source, sessionSource } from "/console/tail.js";

const MAX_SHOWN = 1000;

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  paused: "Paused",
  reconnecting: "Reconnecting…",
  failed: "Stopped by an error",
  stopped: "Stopped",
};

export function tailView(main, _params, query) {
  const sess = currentSession();
  const admin = sess.role === "admin";
  const inputs = admin
    ? { basin: h("input", { id: "tail-basin", value: query.get("basin") ?? "", autocomplete: "off", required: true }), stream: h("input", { id: "tail-stream", value: query.get("stream") ?? "", autocomplete: "off", required: true }) }
    : {
        session: h("input", { id: "tail-session", value: query.get("session") ?? "", autocomplete: "off", required: true }),
        io: h("select", { id: "tail-io" }, h("option", { value: "out", selected: query.get("io") !== "in" }, ".out (agent → client)"), h("option", { value: "in", selected: query.get("io") === "in" }, ".in (client → agent)")),
      };
  const from = h(
    "select",
    { id: "tail-from" },
    h("option", { value: "latest" }, "New records only"),
    h("option", { value: "start" }, "From the beginning"),
    h("option", { value: "seq" }, "From a sequence number"),
  );
  const seq = h("input", { id: "tail-seq", type: "number", min: "0", value: "0", disabled: true });
  from.addEventListener("change", () => (seq.disabled = from.value !== "seq"));
  const startBtn = h("button", { type: "submit", class: "primary", id: "tail-start" }, "Start");
  const pauseBtn = h("button", { type: "button", id: "tail-pause", disabled: true }, "Pause");
  const clearBtn = h("button", { type: "button", id: "tail-clear" }, "Clear");
  const status = h("p", { class: "tail-status", id: "tail-status", role: "status", "data-state": "idle" }, "Not started.");
  const count = h("p", { class: "tail-count", id: "tail-count" }, "0 records");
  const list = h("ol", { class: "records", id: "records", "aria-label": "Records", tabindex: "0" });
  const err = h("p", { class: "form-error", role: "alert" });
  let received = 0;
  let tail = null;

  const form = h(
    "form",
    { class: "inline-form tail-form", "aria-label": "What to follow", novalidate: true },
    admin ? [field("Basin", inputs.basin), field("Stream", inputs.stream)] : [field("Session (id or externalId)", inputs.session), field("Channel", inputs.io)],
    field("Start", from),
    field("Sequence number", seq),
    startBtn,
    err,
  );

  function showRecords(records) {
    const frag = document.createDocumentFragment();
    for (const r of records) {
      const headers = Array.isArray(r.headers) && r.headers.length ? h("ul", { class: "rec-headers" }, r.headers.map(([k, v]) => h("li", {}, h("code", {}, k || "(empty)"), ": ", h("code", {}, v)))) : null;
      frag.append(
        h(
          "li",
          { class: "rec", "data-seq": String(r.seq_num) },
          h("span", { class: "rec-seq" }, `#${r.seq_num}`),
          h("time", { class: "rec-time", datetime: new Date(r.timestamp).toISOString() }, fmtTime(r.timestamp)),
          headers,
          h("pre", { class: "rec-body" }, r.body === "" && headers ? "(command record)" : r.body ?? ""),
        ),
      );
    }
    list.append(frag);
    while (list.childElementCount > MAX_SHOWN) list.firstElementChild.remove();
    received += records.length;
    count.textContent = `${received} record${received === 1 ? "" : "s"} received${received > MAX_SHOWN ? ` (the newest ${MAX_SHOWN} shown)` : ""}`;
    list.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  function onStatus({ state, detail }) {
    status.dataset.state = state;
    status.dataset.connections = String(tail?.connections ?? 0); // how many times it (re)connected
    status.textContent = `${STATE_TEXT[state] ?? state}${detail ? ` — ${detail}` : ""}`;
    pauseBtn.disabled = !["connecting", "live", "reconnecting", "paused"].includes(state);
    pauseBtn.textContent = state === "paused" ? "Resume" : "Pause";
    startBtn.textContent = tail && state !== "failed" && state !== "stopped" ? "Restart" : "Start";
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const fromV = from.value;
    const seqV = Number(seq.value);
    if (fromV === "seq" && !(Number.isInteger(seqV) && seqV >= 0)) {
      err.textContent = "The sequence number must be a whole number, 0 or more.";
      return;
    }
    let source;
    if (admin) {
      const basin = inputs.basin.value.trim();
      const stream = inputs.stream.value.trim();
      if (!basin || !stream) {
        err.textContent = "Name a basin and a stream.";
        return;
      }
      source = s2Source({ basin, stream, from: fromV, seq: seqV, token: sess.token });
      history.replaceState(null, "", `#/tail?basin=${encodeURIComponent(basin)}&stream=${encodeURIComponent(stream)}`);
    } else {
      const session = inputs.session.value.trim();
      if (!session) {
        err.textContent = "Name a session.";
        return;
      }
      source = sessionSource({ session, io: inputs.io.value, from: fromV, seq: seqV, token: sess.token });
      history.replaceState(null, "", `#/tail?session=${encodeURIComponent(session)}&io=${inputs.io.value}`);
    }
    tail?.stop();
    clear(list);
    received = 0;
    count.textContent = "0 records";
    tail = new Tail(source, { onRecords: showRecords, onStatus });
    tail.start();
  });
  pauseBtn.addEventListener("click", () => {
    if (!tail) return;
    if (tail.state === "paused") tail.start();
    else tail.pause();
  });
  clearBtn.addEventListener("click", () => {
    clear(list);
    received = 0;
    count.textContent = "0 records";
  });

  main.append(
    h("h1", {}, "Live tail"),
    h(
      "p",
      {},
      admin
        ? "Follow any stream of any basin. Records appear as soon as they are durable."
        : "Follow a session's channel. Records appear as soon as they are durable; channel records are envelopes {\"data\", \"id\"}.",
    ),
    h("section", { class: "card" }, form),
    h("section", { class: "card tail-card", "aria-label": "Records" }, h("div", { class: "tail-bar" }, status, count, pauseBtn, clearBtn), list),
  );
  if ((admin && inputs.basin.value && inputs.stream.value) || (!admin && inputs.session.value)) queueMicrotask(() => form.requestSubmit());
  return () => tail?.stop();
}
