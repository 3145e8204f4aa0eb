/* The Faults view: add faults at the API edge from presets, see their hits live, remove them; the rate limit and
   balance in force. It follows fault.hit and config.changed on the event stream by itself. */
"use strict";

(() => {
  const api = window.MockApi;
  const $ = (selector) => document.querySelector(selector);
  const token = new URLSearchParams(location.search).get("token");
  const PRESETS = {
    throttle: { match: { method: "POST" }, status: 429, retry_after: 1, times: 3 },
    outage: { status: 500, window: { start: 0, duration: 30 } },
    slow: { latency_ms: 2000 },
    drop: { match: { method: "POST" }, drop: "reset", times: 1 },
  };

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (token) headers["X-Mock-Token"] = token;
    if (api.account) headers["X-Mock-Account"] = api.account;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new api.ApiError(response.status, data);
    return data;
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function answerOf(fault) {
    const parts = [];
    if (fault.status) parts.push(`${fault.status}${fault.retry_after !== undefined ? `, Retry-After ${fault.retry_after}` : ""}`);
    if (fault.latency_ms) parts.push(`${fault.latency_ms} ms${fault.jitter_ms ? ` ± ${fault.jitter_ms}` : ""}`);
    if (fault.drop) parts.push(`drop: ${fault.drop}`);
    return parts.join(" · ");
  }

  function limitsOf(fault) {
    const parts = [];
    if (fault.times) parts.push(`${fault.times} times`);
    if (fault.after) parts.push(`after ${fault.after}`);
    if (fault.probability !== undefined) parts.push(`p = ${fault.probability}`);
    if (fault.window) parts.push(`from ${fault.window.start}${fault.window.duration ? ` for ${fault.window.duration} s` : ""}`);
    if (fault.account) parts.push(`account ${fault.account}`);
    return parts.join(" · ") || "—";
  }

  function row(fault) {
    const tr = document.createElement("tr");
    tr.dataset.id = fault.id;
    const match = Object.entries(fault.match).map(([key, value]) => `${key}=${value}`).join(" ") || "every request";
    tr.append(cell(fault.id.slice(0, 8)), cell(answerOf(fault)), cell(match), cell(limitsOf(fault)),
      cell(String(fault.hits)), cell(fault.active ? "active" : "retired"));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove fault ${fault.id}`);
    remove.addEventListener("click", () => act(() => call("DELETE", `/_mock/faults/${encodeURIComponent(fault.id)}`)));
    const td = document.createElement("td");
    td.append(remove);
    tr.append(td);
    return tr;
  }

  async function refresh() {
    const [{ faults }, config] = await Promise.all([call("GET", "/_mock/faults"), call("GET", "/_mock/config")]);
    $("#fault-rows").replaceChildren(...faults.map(row));
    $("#faults-empty").hidden = faults.length > 0;
    showLimits(config);
  }

  function showLimits(config) {
    const channels = Object.entries(config.rate_limits || {}).map(([channel, rate]) => `${channel} ${rate}/s`);
    const rate = config.rate_limit ? `${config.rate_limit}/s${config.rate_burst ? `, burst ${config.rate_burst}` : ""}` : "off";
    $("#edge-rate").textContent = [rate, ...channels].join(", ");
    $("#edge-balance").textContent = config.balance === null || config.balance === undefined
      ? "unlimited" : `€${Number(config.balance).toFixed(4)}`;
  }

  function notify(text) {
    const toast = $("#toast");
    toast.textContent = text;
    toast.hidden = false;
  }

  const act = (fn) => Promise.resolve().then(fn).then(refresh).catch((error) => notify(error.message));

  function follow() {
    const source = new EventSource(api.pageUrl("/_mock/events"));
    for (const type of ["hello", "fault.hit", "config.changed", "message.status"]) {
      source.addEventListener(type, () => { if (!$("#view-faults").hidden || type !== "message.status") act(() => null); });
    }
  }

  function wire() {
    for (const button of document.querySelectorAll("[data-preset]")) {
      button.addEventListener("click", () => act(() => call("POST", "/_mock/faults", PRESETS[button.dataset.preset])));
    }
    $("#faults-clear").addEventListener("click", () => act(() => call("DELETE", "/_mock/faults")));
    $("#edit-edge").addEventListener("click", () => $("#open-settings").click());
    document.querySelector('.tab[data-view="faults"]').addEventListener("click", () => act(() => null));
    follow();
  }

  wire();
})();
