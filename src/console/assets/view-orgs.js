// view-orgs.js — organizations (admin): the list with plan, basin and retention; one
// organization's plan, basin (ensure / deprovision), projects and environments (create, rotate
// key), and usage charts. Everything goes through /admin/api/v1 and /v1 with the root token.

import { h, clear } from "/console/dom.js";
import { api, seg } from "/console/api.js";
import {
  announce, confirmDialog, empty, errorBox, facts, field, fmtBytes, fmtNumber, fmtRetention, fmtTime,
  inlineForm, keyDialog, link, load, table,
} from "/console/ui.js";
import { lineChart } from "/console/chart.js";

let plansCache = null;
async function plans() {
  plansCache ??= api("/admin/api/v1/plans").catch((e) => {
    plansCache = null;
    throw e;
  });
  return plansCache;
}

const planRetention = (p, name) => {
  const plan = p.plans.find((x) => x.name === name);
  if (!plan) return "unknown plan";
  return plan.shared ? `shared basin (${p.globalBasin})` : plan.retention;
};

function planSelect(p, selected, id) {
  return h(
    "select",
    { id },
    p.plans.map((x) => h("option", { value: x.name, selected: x.name === selected }, `${x.name} — ${x.shared ? "shared basin" : `own basin, ${x.retention}`}`)),
  );
}

export function orgsView(main) {
  const list = h("section", { "aria-labelledby": "orgs-list-title" });
  const formSlot = h("div");
  main.append(
    h("h1", {}, "Organizations"),
    h("section", { class: "card", "aria-labelledby": "new-org-title" }, h("h2", { id: "new-org-title" }, "New organization"), formSlot),
    h("h2", { id: "orgs-list-title" }, "All organizations"),
    list,
  );
  const refresh = () =>
    load(
      list,
      "Loading organizations…",
      async () => {
        const [o, p] = await Promise.all([api("/admin/api/v1/orgs"), plans()]);
        return { orgs: o.organizations, p };
      },
      ({ orgs, p }) => {
        if (!orgs.length) {
          list.append(empty("No organizations yet.", "Create the first one with the form above: give it a slug (a-z, 0-9, - and _), a title and a plan."));
          return;
        }
        list.append(
          table(
            "Organizations",
            [
              { label: "Slug", cell: (o) => link(`/orgs/${seg(o.id)}`, o.slug) },
              { label: "Title", cell: (o) => o.title },
              { label: "Plan", cell: (o) => o.plan },
              { label: "Basin", cell: (o) => o.streamBasinName ?? h("span", { class: "muted" }, `shared (${p.globalBasin})`) },
              { label: "Retention", cell: (o) => planRetention(p, o.plan) },
              { label: "ID", class: "mono", cell: (o) => o.id },
            ],
            orgs,
            { rowLabel: (o) => o.slug },
          ),
        );
      },
    );
  plans()
    .then((p) => {
      const slug = h("input", { id: "org-slug", required: true, autocomplete: "off", pattern: "[a-z0-9_-]{1,64}" });
      const title = h("input", { id: "org-title", required: true, autocomplete: "off" });
      const plan = planSelect(p, p.plans[0]?.name, "org-plan");
      formSlot.append(
        inlineForm({
          label: "New organization",
          fields: [field("Slug", slug), field("Title", title), field("Plan", plan)],
          submit: "Create organization",
          onSubmit: async () => {
            const o = await api("/admin/api/v1/orgs", { method: "POST", body: { slug: slug.value.trim(), title: title.value.trim(), plan: plan.value } });
            announce(`Organization ${o.slug} created.`);
            slug.value = "";
            title.value = "";
            await refresh();
          },
        }),
      );
    })
    .catch((e) => formSlot.append(errorBox(e)));
  refresh();
}

async function basinRetention(basin) {
  if (!basin) return null;
  const cfg = await api(`/v1/basins/${seg(basin)}`);
  return fmtRetention(cfg?.default_stream_config?.retention_policy);
}

export function orgView(main, [orgId]) {
  const h1 = h("h1", {}, "Organization");
  const summary = h("section", { class: "card", "aria-label": "Summary" });
  const planCard = h("section", { class: "card", "aria-labelledby": "plan-title" });
  const projects = h("div");
  const projectsCard = h("section", { class: "card", "aria-labelledby": "projects-title" }, h("h2", { id: "projects-title" }, "Projects and environments"), projects);
  const usage = h("section", { class: "card", "aria-labelledby": "usage-title" });
  main.append(h("p", { class: "crumbs" }, link("/orgs", "Organizations"), " / "), h1, summary, planCard, projectsCard, usage);

  const refreshOrg = () =>
    load(
      summary,
      "Loading the organization…",
      async () => {
        const [o, p] = await Promise.all([api(`/admin/api/v1/orgs/${seg(orgId)}`), plans()]);
        const retention = await basinRetention(o.streamBasinName ?? p.globalBasin).catch((e) => `unknown (${e.message})`);
        return { o, p, retention };
      },
      ({ o, p, retention }) => {
        h1.textContent = `${o.title} (${o.slug})`;
        document.title = `${h1.textContent} · weir console`;
        summary.append(
          facts([
            ["ID", h("span", { class: "mono" }, o.id)],
            ["Plan", h("span", { "data-field": "plan" }, o.plan)],
            ["Basin", h("span", { "data-field": "basin" }, o.streamBasinName ? link(`/basins/${seg(o.streamBasinName)}`, o.streamBasinName) : `none: streams live in the shared basin ${p.globalBasin}`)],
            ["Retention", h("span", { "data-field": "retention" }, retention)],
          ]),
        );
        renderPlan(o, p);
      },
    );

  function renderPlan(o, p) {
    clear(planCard).append(h("h2", { id: "plan-title" }, "Plan and basin"));
    if (!p.perOrgBasins)
      planCard.append(h("p", { class: "note" }, "Per-organization basins are off on this server (--per-org-basins): plans are recorded, and every organization keeps the shared basin."));
    const sel = planSelect(p, o.plan, "plan-select");
    planCard.append(
      inlineForm({
        label: "Change plan",
        fields: [field("Plan", sel)],
        submit: "Change plan",
        onSubmit: async () => {
          const to = sel.value;
          if (to === o.plan) throw new Error(`The organization is already on ${to}.`);
          const target = p.plans.find((x) => x.name === to);
          const ok = await confirmDialog({
            title: `Change ${o.slug} to ${to}?`,
            body: h("p", {}, target?.shared ? "A shared plan deprovisions the organization's own basin: new runs and sessions use the shared basin; existing streams stay and age out." : `A paid plan ensures the organization's own basin with ${target?.retention} retention.`),
            confirmLabel: "Change plan",
          });
          if (!ok) return;
          const r = await api(`/admin/api/v1/orgs/${seg(o.id)}/plan`, { method: "PUT", body: { plan: to } });
          announce(`Plan changed to ${r.plan} (${r.kind}${r.basin ? `: ${r.basin}` : ""}${r.reason ? `: ${r.reason}` : ""}).`);
          await refreshOrg();
        },
      }),
    );
    const retention = h("input", { id: "ensure-retention", value: p.plans.find((x) => x.name === o.plan && !x.shared)?.retention ?? "30d", autocomplete: "off" });
    const apply = h("input", { type: "checkbox", id: "ensure-apply" });
    planCard.append(
      inlineForm({
        label: "Ensure basin",
        fields: [field("Retention", retention, "A duration such as 7d, 30d or 365d."), h("div", { class: "field checkbox" }, apply, h("label", { for: "ensure-apply" }, "Apply to existing streams"))],
        submit: "Ensure basin",
        onSubmit: async () => {
          const ok = await confirmDialog({
            title: `Ensure ${o.slug}'s basin?`,
            body: h("p", {}, `Creates the organization's own basin (or updates its retention) with ${retention.value} retention${apply.checked ? ", also for its existing streams" : ""}.`),
            confirmLabel: "Ensure basin",
          });
          if (!ok) return;
          const r = await api(`/admin/api/v1/orgs/${seg(o.id)}/stream-basin`, { method: "POST", body: { action: "ensure", retention: retention.value.trim(), apply_to_existing: apply.checked } });
          announce(`Basin ${r.kind}${r.basin ? `: ${r.basin}` : ""}${r.reason ? ` (${r.reason})` : ""}.`);
          await refreshOrg();
        },
      }),
    );
    planCard.append(
      h(
        "button",
        {
          type: "button",
          class: "danger",
          disabled: !o.streamBasinName,
          onclick: async () => {
            const ok = await confirmDialog({
              title: `Deprovision ${o.slug}'s basin?`,
              body: h("p", {}, `weir forgets the basin ${o.streamBasinName}: new runs and sessions use the shared basin. The basin and its streams stay and age out; rows stamped with it keep using it.`),
              confirmLabel: "Deprovision",
              danger: true,
            });
            if (!ok) return;
            try {
              const r = await api(`/admin/api/v1/orgs/${seg(o.id)}/stream-basin`, { method: "POST", body: { action: "deprovision" } });
              announce(`Basin ${r.kind}.`);
              await refreshOrg();
            } catch (e) {
              announce(e.message, "error");
            }
          },
        },
        "Deprovision basin…",
      ),
    );
  }

  const refreshProjects = () =>
    load(
      projects,
      "Loading projects…",
      () => api(`/admin/api/v1/orgs/${seg(orgId)}/projects`),
      ({ projects: list }) => {
        const slug = h("input", { id: "project-slug", autocomplete: "off" });
        projects.append(
          inlineForm({
            label: "New project",
            fields: [field("New project slug", slug)],
            submit: "Create project",
            onSubmit: async () => {
              const p = await api(`/admin/api/v1/orgs/${seg(orgId)}/projects`, { method: "POST", body: { slug: slug.value.trim() } });
              announce(`Project ${p.slug} created.`);
              await refreshProjects();
            },
          }),
        );
        if (!list.length) {
          projects.append(empty("No projects yet.", "A project groups environments (dev, prod, …); each environment gets its own secret key."));
          return;
        }
        for (const p of list) projects.append(projectBlock(p));
      },
    );

  function projectBlock(p) {
    const envSlug = h("input", { id: `env-slug-${p.id}`, autocomplete: "off" });
    const rotate = async (e) => {
      const ok = await confirmDialog({
        title: `Rotate the key of ${p.slug}/${e.slug}?`,
        body: h("p", {}, "The current key stops working at once, with every public token signed with it and every write token minted for it."),
        confirmLabel: "Rotate key",
        danger: true,
      });
      if (!ok) return;
      try {
        const r = await api(`/admin/api/v1/environments/${seg(e.id)}/rotate-key`, { method: "POST" });
        await keyDialog({ title: `New key of ${p.slug}/${e.slug}`, key: r.apiKey });
      } catch (err) {
        announce(err.message, "error");
      }
    };
    return h(
      "section",
      { class: "project", "data-project": p.slug, "aria-label": `Project ${p.slug}` },
      h("h3", {}, p.slug, " ", h("span", { class: "muted mono" }, p.id)),
      p.environments.length
        ? table(
            `Environments of ${p.slug}`,
            [
              { label: "Environment", cell: (e) => e.slug },
              { label: "ID", class: "mono", cell: (e) => e.id },
              { label: "Created", cell: (e) => fmtTime(e.createdAt) },
              { label: "Key", cell: (e) => h("button", { type: "button", onclick: () => rotate(e), "aria-label": `Rotate the key of ${e.slug}` }, "Rotate key…") },
            ],
            p.environments,
            { rowLabel: (e) => e.slug },
          )
        : empty("No environments yet.", "Create one below; its secret key is shown once."),
      inlineForm({
        label: `New environment in ${p.slug}`,
        fields: [field("New environment slug", envSlug)],
        submit: "Create environment",
        onSubmit: async () => {
          const e = await api(`/admin/api/v1/projects/${seg(p.id)}/environments`, { method: "POST", body: { slug: envSlug.value.trim() } });
          await keyDialog({
            title: `Secret key of ${p.slug}/${e.slug}`,
            key: e.apiKey,
            note: "Your application server uses it for runs, sessions and public tokens. Sign in to this console with it to see the environment's sessions and runs.",
          });
          await refreshProjects();
        },
      }),
    );
  }

  refreshOrg();
  refreshProjects();
  usageCard(usage, orgId);
}

function usageCard(card, orgId) {
  const range = h(
    "select",
    { id: "usage-range" },
    h("option", { value: "86400" }, "Last 24 hours"),
    h("option", { value: String(7 * 86400) }, "Last 7 days"),
    h("option", { value: String(30 * 86400) }, "Last 30 days"),
  );
  const interval = h("select", { id: "usage-interval" }, h("option", { value: "hour" }, "Hourly"), h("option", { value: "day" }, "Daily"));
  const body = h("div", { class: "usage-body" });
  const refresh = () =>
    load(
      body,
      "Loading usage…",
      () => {
        const end = Math.floor(Date.now() / 1000);
        const start = end - Number(range.value);
        return api(`/admin/api/v1/orgs/${seg(orgId)}/usage?start=${start}&end=${end}&interval=${interval.value}`);
      },
      (u) => renderUsage(body, u),
    );
  range.addEventListener("change", refresh);
  interval.addEventListener("change", refresh);
  card.append(
    h("h2", { id: "usage-title" }, "Usage"),
    h("div", { class: "controls" }, field("Range", range), field("Interval", interval), h("button", { type: "button", onclick: refresh }, "Refresh")),
    body,
  );
  refresh();
}

function renderUsage(body, u) {
  const t = u.total;
  body.append(
    facts([
      ["Appended", `${fmtBytes(t.appendedBytes)} in ${fmtNumber(t.appendedRecords)} records`],
      ["Read", `${fmtBytes(t.readBytes)} in ${fmtNumber(t.readRecords)} records`],
      ["Stored now", fmtBytes(t.storedBytes)],
      ["Basins", u.basins.map((b) => `${b.basin}${b.shared ? " (shared: this organization's streams only)" : ""}`).join(", ") || "—"],
    ]),
  );
  const rows = u.series ?? [];
  const active = rows.some((r) => r.appendedBytes || r.readBytes || r.storedBytes);
  if (!rows.length || !active) {
    body.append(empty("No usage in this range.", "Appends, reads and stored bytes of the organization's streams show here once records flow (counts reach disk every few seconds)."));
    return;
  }
  body.append(
    h(
      "div",
      { class: "charts", "data-has-data": "true" },
      lineChart({
        title: "Bytes appended and read",
        interval: u.interval,
        format: fmtBytes,
        binary: true,
        rows,
        series: [
          { name: "Appended", key: "appendedBytes", cls: "s1" },
          { name: "Read", key: "readBytes", cls: "s2" },
        ],
      }),
      lineChart({
        title: "Bytes stored",
        interval: u.interval,
        format: fmtBytes,
        binary: true,
        rows,
        series: [{ name: "Stored", key: "storedBytes", cls: "s3", summary: "last" }],
      }),
    ),
  );
}
