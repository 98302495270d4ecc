// The delivery console: every call goes to the connector's documented API with the key in its
// header (never in a URL); the key is kept in sessionStorage, so it is gone when the tab closes.
(function () {
  "use strict";
  const root = document.getElementById("console");
  const base = root.dataset.base, header = root.dataset.header, storage = root.dataset.keyStorage;
  const $ = (id) => document.getElementById(id);
  const state = { subscription: null, items: [], next: null, timer: null };
  const REFRESH_MS = 5000; // while the tab is visible

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value !== null && value !== undefined) node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function when(instant) {
    // the API's times are ISO 8601 with a zone; shown in the browser's own time zone
    if (instant === null || instant === undefined) return "—";
    const d = new Date(instant), pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function say(text, error) {
    const status = $("status");
    status.textContent = text;
    status.className = error ? "error" : "";
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    headers[header] = sessionStorage.getItem(storage) || "";
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = answer.status === 204 ? null : await answer.json().catch(() => null);
    if (!answer.ok) throw new Error((data && (data.detail || data.title)) || `HTTP ${answer.status}`);
    return data;
  }

  function health(s) {
    if (s.status === "ended") return s.ended_reason ? `ended: ${s.ended_reason}` : "ended";
    if (s.status === "disabled") return `disabled: ${s.disabled_reason || "by its owner"}`;
    if (s.failing_since) return `failing since ${when(s.failing_since)}`;
    return "healthy";
  }

  async function act(label, call) {
    try {
      say(`${label}…`);
      const result = await call();
      say(`${label}: done${result && result.requeued !== undefined ? ` (${result.requeued} queued)` : ""}.`);
    } catch (error) {
      say(`${label}: ${error.message}`, true);
    }
    await refresh();
    setTimeout(refresh, 1000); // the worker is woken at once: show the outcome without waiting for the next round
  }

  function subscriptionRow(s) {
    const id = encodeURIComponent(s.id);
    const actions = el("td", { class: "row-actions" },
      el("button", { type: "button", "aria-label": `Events of ${s.trigger} to ${s.callback_url}`, onclick: () => openEvents(s) }, "Events"));
    if (s.status === "active")
      actions.append(el("button", { type: "button", onclick: () => act("Disable", () => api("POST", `/subscriptions/${id}/disable`)) }, "Disable"));
    if (s.status === "disabled")
      actions.append(el("button", { type: "button", onclick: () => act("Enable", () => api("POST", `/subscriptions/${id}/enable`, {})) }, "Enable"));
    if (s.status !== "ended")
      actions.append(el("button", { type: "button", class: "danger", onclick: () => {
        if (confirm(`Unsubscribe ${s.trigger} → ${s.callback_url}? Deliveries stop for good.`))
          act("Unsubscribe", () => api("DELETE", `/subscriptions/${id}`));
      } }, "Unsubscribe"));
    return el("tr", { "data-subscription": s.id },
      el("th", { scope: "row" }, s.trigger),
      el("td", { class: "url" }, s.callback_url),
      el("td", {}, el("span", { class: `badge ${s.status}` }, s.status)),
      el("td", { class: "time" }, when(s.created_at)),
      el("td", { class: "time" }, when(s.last_delivered_at)),
      el("td", {}, health(s)),
      actions);
  }

  function attemptList(event) {
    const log = event.attempt_log || [];
    if (!log.length) return "none yet";
    return el("ol", { class: "attempts" }, ...log.map((a) =>
      el("li", {}, `${when(a.attempted_at)} · ${a.status_code === null || a.status_code === undefined ? "no answer" : a.status_code}`
        + ` · ${a.duration_ms === null || a.duration_ms === undefined ? "?" : a.duration_ms} ms${a.error ? ` · ${a.error}` : ""}`)));
  }

  function eventRow(e) {
    const sub = encodeURIComponent(state.subscription.id), hook = encodeURIComponent(e.webhook_id);
    const action = el("td");
    if (e.status === "failed" || (e.status === "pending" && e.attempts > 0))
      action.append(el("button", { type: "button", class: "primary",
        onclick: () => act("Retry", () => api("POST", `/subscriptions/${sub}/deliveries/${hook}/retry`)) }, "Retry now"));
    return el("tr", { "data-webhook-id": e.webhook_id, "data-status": e.status },
      el("td", { class: "time" }, when(e.created_at)),
      el("td", {}, el("code", {}, e.webhook_id)),
      el("td", {}, el("span", { class: `badge ${e.status}` }, e.status), e.last_error && e.status !== "delivered" ? el("div", { class: "desc" }, e.last_error) : null),
      el("td", {}, attemptList(e)),
      el("td", { class: "time" }, e.status === "pending" ? when(e.next_attempt_at) : "—"),
      action);
  }

  async function loadEvents(more) {
    if (!state.subscription) return;
    const params = new URLSearchParams();
    const filter = $("status-filter").value;
    if (filter) params.set("status", filter);
    if (more) params.set("before", state.next);
    else params.set("limit", String(Math.min(100, Math.max(20, state.items.length))));
    const page = await api("GET", `/subscriptions/${encodeURIComponent(state.subscription.id)}/deliveries?${params}`);
    state.items = more ? state.items.concat(page.items) : page.items;
    state.next = page.next_before === undefined ? null : page.next_before;
    $("event-list").tBodies[0].replaceChildren(...state.items.map(eventRow));
    $("no-events").hidden = state.items.length > 0;
    $("older").hidden = state.next === null;
  }

  async function refresh() {
    if (!sessionStorage.getItem(storage)) return;
    try {
      const [summary, listing] = await Promise.all([api("GET", "/deliveries/summary"), api("GET", "/subscriptions")]);
      for (const name of ["pending", "delivered", "failed"]) $(`count-${name}`).textContent = summary[name];
      $("subscriptions").tBodies[0].replaceChildren(...listing.items.map(subscriptionRow));
      $("no-subscriptions").hidden = listing.items.length > 0;
      $("overview").hidden = false;
      if (state.subscription) {
        state.subscription = listing.items.find((s) => s.id === state.subscription.id) || null;
        if (state.subscription) await loadEvents(false);
        else $("events").hidden = true;
      }
    } catch (error) {
      say(error.message, true);
    }
  }

  async function openEvents(s) {
    state.subscription = s;
    state.items = [];
    $("events-title").textContent = `Events of ${s.trigger} → ${s.callback_url}`;
    $("events").hidden = false;
    await loadEvents(false).catch((error) => say(error.message, true));
    $("events-title").focus();
  }

  function start() {
    clearInterval(state.timer);
    state.subscription = null;
    $("events").hidden = true;
    refresh();
    state.timer = setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(storage, $("api-key").value.trim());
    $("api-key").value = "";
    say("Key kept in this tab.");
    start();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(storage);
    clearInterval(state.timer);
    state.subscription = null;
    $("overview").hidden = $("events").hidden = true;
    say("Key forgotten.");
  });
  $("refresh").addEventListener("click", refresh);
  $("status-filter").addEventListener("change", () => { state.items = []; loadEvents(false).catch((e) => say(e.message, true)); });
  $("older").addEventListener("click", () => loadEvents(true).catch((e) => say(e.message, true)));
  $("replay-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const since = new Date($("replay-since").value);
    if (isNaN(since)) return say("Pick a date and time to replay from.", true);
    const id = encodeURIComponent(state.subscription.id);
    act("Replay", () => api("POST", `/subscriptions/${id}/replay`, { since: since.toISOString() }));
  });
  if (sessionStorage.getItem(storage)) start();
})();
