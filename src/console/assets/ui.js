// ui.js — the console's shared pieces: loading, empty and error states, tables, forms, dialogs,
// announcements and formatting. Every state a view can be in has a designed look and a text that
// screen readers announce.

import { h, clear, newId } from "/console/dom.js";

/** A loading state (role=status, announced politely). */
export function loading(label) {
  return h("p", { class: "state loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), label);
}

/** An empty state: what is missing and what to do about it. */
export function empty(title, hint, ...actions) {
  return h("div", { class: "state empty" }, h("p", { class: "state-title" }, title), hint ? h("p", {}, hint) : null, actions);
}

/** An error state (role=alert) with the server's message and a Retry button when retry is given. */
export function errorBox(err, retry) {
  const status = err?.status ? ` (HTTP ${err.status})` : "";
  return h(
    "div",
    { class: "state error", role: "alert" },
    h("p", { class: "state-title" }, `Something went wrong${status}`),
    h("p", { class: "error-message" }, err?.message ?? String(err)),
    retry ? h("button", { type: "button", onclick: retry }, "Retry") : null,
  );
}

/**
 * Renders `label` while fn() runs, then render(data) into container, or an error with Retry.
 * Returns fn's promise result (undefined after an error).
 */
export async function load(container, label, fn, render) {
  clear(container).append(loading(label));
  container.setAttribute("aria-busy", "true");
  try {
    const data = await fn();
    clear(container);
    render(data);
    return data;
  } catch (e) {
    clear(container).append(errorBox(e, () => load(container, label, fn, render)));
    return undefined;
  } finally {
    container.removeAttribute("aria-busy");
  }
}

/** A table: columns [{label, cell(row) → Node|string, class?}], one row per item. */
export function table(caption, columns, rows, { rowLabel } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((r) => h("tr", { "data-row": rowLabel ? rowLabel(r) : undefined }, columns.map((c) => h("td", { class: c.class }, c.cell(r))))),
      ),
    ),
  );
}

/** A labelled form control: the label is wired to the control by id. */
export function field(label, control, hint) {
  const id = control.id || newId("f");
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h("span", { class: "hint", id: `${id}-hint` }, hint);
    control.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

let liveRegion = null;
/** Announces a message in the page's polite live region and shows it as a toast. */
export function announce(message, kind = "ok") {
  if (!liveRegion) {
    liveRegion = h("div", { class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(liveRegion);
  }
  clear(liveRegion).append(h("p", { class: `toast-${kind}` }, message));
  liveRegion.classList.add("shown");
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => liveRegion.classList.remove("shown"), 6000);
}

/** Opens a modal dialog; resolves with the value passed to close(value) (Escape: undefined). */
function modal(build) {
  return new Promise((resolve) => {
    const titleId = newId("dlg");
    const dlg = h("dialog", { "aria-labelledby": titleId, class: "dialog" });
    let result;
    const close = (v) => {
      result = v;
      dlg.close();
    };
    dlg.append(...build({ titleId, close }));
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Asks for confirmation; resolves true only when the confirm button was pressed. */
export function confirmDialog({ title, body, confirmLabel = "Confirm", danger = false }) {
  return modal(({ titleId, close }) => [
    h("h2", { id: titleId }, title),
    h("div", { class: "dialog-body" }, body),
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", onclick: () => close(false) }, "Cancel"),
      h("button", { type: "button", class: danger ? "danger" : "primary", onclick: () => close(true) }, confirmLabel),
    ),
  ]).then((v) => v === true);
}

/**
 * Shows a secret key once. The dialog and the key leave the page when it closes; the console
 * keeps no copy. `extra` may add buttons (given close()).
 */
export function keyDialog({ title, key, note, extra }) {
  return modal(({ titleId, close }) => {
    const out = h("output", { class: "secret", "data-secret": "" }, key);
    const copied = h("span", { class: "hint", role: "status" });
    return [
      h("h2", { id: titleId }, title),
      h("p", { class: "warning" }, "Copy this key now: it is shown only once. weir keeps only its hash and a sealed copy."),
      note ? h("p", {}, note) : null,
      h("div", { class: "secret-row" }, out),
      copied,
      h(
        "div",
        { class: "dialog-actions" },
        h(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                await navigator.clipboard.writeText(key);
                copied.textContent = "Copied to the clipboard.";
              } catch {
                getSelection().selectAllChildren(out);
                copied.textContent = "Selected: press Ctrl+C to copy.";
              }
            },
          },
          "Copy key",
        ),
        extra ? extra(close) : null,
        h("button", { type: "button", class: "primary", onclick: () => close(true) }, "Done"),
      ),
    ];
  });
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`;
}

export function fmtNumber(n) {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US");
}

/** ISO string or milliseconds → "2024-05-01 12:34:56 UTC". */
export function fmtTime(v) {
  if (v === null || v === undefined || v === "") return "—";
  const d = typeof v === "number" ? new Date(v) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Seconds → "30d", "12h", "90s"; null → "infinite". */
export function fmtDuration(secs) {
  if (secs === null || secs === undefined) return "infinite";
  for (const [unit, n] of [["d", 86400], ["h", 3600], ["m", 60]]) if (secs % n === 0 && secs >= n) return `${secs / n}${unit}`;
  return `${secs}s`;
}

/** A retention_policy of S2 ({age} or {infinite}) as text. */
export function fmtRetention(policy) {
  if (!policy) return "default (7d)";
  if (policy.infinite !== undefined) return "infinite";
  if (typeof policy.age === "number") return fmtDuration(policy.age);
  return JSON.stringify(policy);
}

/** A link that navigates inside the console. */
export function link(href, text, props = {}) {
  return h("a", { href: `#${href}`, ...props }, text);
}

/** A small inline form: fields and a submit button; onSubmit(form) may throw to show an error. */
export function inlineForm({ label, fields, submit, onSubmit }) {
  const err = h("p", { class: "form-error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, submit);
  const form = h("form", { class: "inline-form", "aria-label": label, novalidate: true }, fields, button, err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      await onSubmit(form);
    } catch (e) {
      err.textContent = e.message;
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

/**
 * A list paged by cursor: fetchPage(cursor) resolves to { items, next }, `next` being the cursor
 * of the following page (falsy on the last); `first` is the first page's. Every page's cursor is
 * kept, so Previous goes back. Returns { reset() }: back to page 1, reloaded.
 */
export function cursorPages({ container, label, first, fetchPage, render, emptyState }) {
  const cursors = [first]; // cursors[i]: the cursor of page i + 1
  let page = 0;
  const show = () =>
    load(
      container,
      `Loading ${label}…`,
      () => fetchPage(cursors[page]),
      ({ items, next }) => {
        if (!items.length && page === 0) {
          container.append(emptyState());
          return;
        }
        if (next) cursors[page + 1] = next;
        container.append(
          render(items),
          pager({
            label: `Pages of ${label}`,
            page: page + 1,
            hasPrev: page > 0,
            hasNext: Boolean(next),
            onPrev: () => {
              page -= 1;
              show();
            },
            onNext: () => {
              page += 1;
              show();
            },
          }),
        );
      },
    );
  return {
    reset() {
      cursors.length = 1;
      page = 0;
      return show();
    },
  };
}

/** A pager: Previous/Next buttons and a page label. */
export function pager({ label, page, hasPrev, hasNext, onPrev, onNext }) {
  return h(
    "nav",
    { class: "pager", "aria-label": label },
    h("button", { type: "button", disabled: !hasPrev, onclick: onPrev }, "Previous page"),
    h("span", { class: "page-no" }, `Page ${page}`),
    h("button", { type: "button", disabled: !hasNext, onclick: onNext }, "Next page"),
  );
}
