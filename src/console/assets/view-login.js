// view-login.js — sign in with the root token (admin view) or an environment's secret key (that
// environment's view). The token field has no name attribute and the CSP forbids form
// submission, so the token cannot end up in a URL even if a script failed to load.

import { h } from "/console/dom.js";
import { identify, setSession } from "/console/api.js";
import { field } from "/console/ui.js";
import { go } from "/console/app.js";

export function loginView(main) {
  const input = h("input", { type: "password", id: "token", autocomplete: "off", spellcheck: "false", required: true });
  const err = h("p", { class: "form-error", role: "alert", id: "login-error" });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "login", "aria-labelledby": "login-title", novalidate: true },
    field("Token", input, "The server's root token, or an environment's secret key (sk_…)."),
    button,
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    err.textContent = "";
    if (!token) {
      err.textContent = "Enter a token.";
      input.focus();
      return;
    }
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const who = await identify(token);
      input.value = "";
      setSession(who);
      go(who.role === "admin" ? "/orgs" : "/sessions");
    } catch (e) {
      err.textContent = e.message;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      input.select();
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
  main.append(
    h(
      "section",
      { class: "card login-card" },
      h("h1", { id: "login-title" }, "Sign in to weir"),
      h(
        "p",
        {},
        "The root token shows every organization, basin and stream. An environment's secret key shows that environment's sessions, runs and channels only.",
      ),
      form,
      h(
        "p",
        { class: "hint" },
        "The token stays in this tab (sessionStorage) and is sent only as an Authorization header to this server. Closing the tab or signing out forgets it.",
      ),
    ),
  );
  queueMicrotask(() => input.focus());
}
