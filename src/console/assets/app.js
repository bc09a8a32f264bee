// app.js — the console's shell: who is signed in, the navigation, and a hash router
// ("#/orgs/ID"; the part after "#" never reaches the server, and it never holds a token).
// Each view is a function (main, params, query) that renders into <main>; a view may return a
// cleanup function, called when the user navigates away (the live tail closes its connection).

import { h, clear } from "/console/dom.js";
import { currentSession, loadSession, setSession } from "/console/api.js";
import { loginView } from "/console/view-login.js";
import { orgsView, orgView } from "/console/view-orgs.js";
import { basinsView, basinView, streamView } from "/console/view-basins.js";
import { tailView } from "/console/view-tail.js";
import { sessionsView, runsView } from "/console/view-env.js";

const routes = [
  { re: /^\/login$/, view: loginView, public: true },
  { re: /^\/orgs$/, view: orgsView, role: "admin" },
  { re: /^\/orgs\/([^/]+)$/, view: orgView, role: "admin" },
  { re: /^\/basins$/, view: basinsView, role: "admin" },
  { re: /^\/basins\/([^/]+)$/, view: basinView, role: "admin" },
  { re: /^\/basins\/([^/]+)\/streams\/(.+)$/, view: streamView, role: "admin" },
  { re: /^\/tail$/, view: tailView },
  { re: /^\/sessions$/, view: sessionsView, role: "env" },
  { re: /^\/runs$/, view: runsView, role: "env" },
];

const NAV = {
  admin: [
    ["/orgs", "Organizations"],
    ["/basins", "Basins & streams"],
    ["/tail", "Live tail"],
  ],
  env: [
    ["/sessions", "Sessions"],
    ["/runs", "Runs"],
    ["/tail", "Live tail"],
  ],
};

const home = () => (currentSession()?.role === "env" ? "/sessions" : currentSession() ? "/orgs" : "/login");

let cleanup = null;

export function go(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = `#${path}`;
}

export function signOut() {
  setSession(null);
  go("/login");
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  return { path, query };
}

function renderChrome(path) {
  const nav = clear(document.getElementById("nav"));
  const who = clear(document.getElementById("who"));
  const sess = currentSession();
  if (!sess) return;
  nav.append(
    h(
      "ul",
      {},
      NAV[sess.role].map(([href, label]) =>
        h("li", {}, h("a", { href: `#${href}`, "aria-current": path === href || path.startsWith(`${href}/`) ? "page" : undefined }, label)),
      ),
    ),
  );
  who.append(
    h("span", { class: "who-label" }, sess.role === "admin" ? "Signed in with the root token" : `Environment ${sess.envId ?? ""}`),
    h("button", { type: "button", onclick: signOut }, "Sign out"),
  );
}

function render() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const { path, query } = parseHash();
  const sess = currentSession();
  let match = null;
  let route = null;
  for (const r of routes) {
    match = r.re.exec(path);
    if (match) {
      route = r;
      break;
    }
  }
  if (!route || (!route.public && !sess) || (route.role && sess && route.role !== sess.role) || (route.public && sess)) {
    go(home());
    return;
  }
  renderChrome(path);
  const main = clear(document.getElementById("main"));
  const params = match.slice(1).map((p) => decodeURIComponent(p));
  const ret = route.view(main, params, query);
  if (typeof ret === "function") cleanup = ret;
  const h1 = main.querySelector("h1");
  if (h1 && document.activeElement?.tagName !== "INPUT") {
    h1.setAttribute("tabindex", "-1");
    h1.focus({ preventScroll: true });
  }
  document.title = `${h1?.textContent ?? "weir"} · weir console`;
}

document.getElementById("skip").addEventListener("click", () => {
  const main = document.getElementById("main");
  (main.querySelector("h1") ?? main).focus();
});
window.addEventListener("hashchange", render);
loadSession();
render();
document.documentElement.dataset.ready = "true";
