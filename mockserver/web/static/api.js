/* The control API as the page uses it: JSON calls and the live event stream, with the control token if given. */
"use strict";

window.MockApi = (() => {
  const token = new URLSearchParams(location.search).get("token");
  const account = new URLSearchParams(location.search).get("account");  // the picker's choice; none: all accounts
  const RESTART_DELAY_MS = 1500;

  class ApiError extends Error {
    constructor(status, problem) {
      const reasons = (problem && problem.invalid_parameters || []).map((p) => `${p.name} ${p.reason}`);
      super(reasons.length ? reasons.join("; ") : (problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
    }
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (token) headers["X-Mock-Token"] = token;
    if (account) headers["X-Mock-Account"] = account;
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  /** A URL the page itself loads: same-origin ones need the token (never put it in data sent anywhere). */
  function pageUrl(url) {
    const parsed = new URL(url, location.href);
    if (token && parsed.origin === location.origin) parsed.searchParams.set("token", token);
    if (account && parsed.origin === location.origin && parsed.pathname.startsWith("/_mock/")) {
      parsed.searchParams.set("account", account);
    }
    return parsed.href;
  }

  /** The event types the server publishes; asked again until it answers (it may be restarting). */
  async function listEventTypes(onState) {
    for (;;) {
      try {
        return (await call("GET", "/_mock/event-types")).event_types;
      } catch (error) {
        onState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
      }
    }
  }

  /**
   * Follow /_mock/events, every type the server lists at /_mock/event-types. EventSource retries by itself after a
   * dropped connection; when it gives up (an HTTP error while the server restarts) a new one is opened. `hello`
   * marks every (re)connection.
   */
  async function follow(onEvent, onState) {
    const eventTypes = await listEventTypes(onState);
    let source = null;
    const open = () => {
      source = new EventSource(pageUrl("/_mock/events"));
      source.addEventListener("hello", () => {
        onState("live");
        onEvent("hello", {});
      });
      for (const type of eventTypes) {
        source.addEventListener(type, (event) => onEvent(type, JSON.parse(event.data)));
      }
      source.onerror = () => {
        onState("reconnecting");
        if (source.readyState === EventSource.CLOSED) setTimeout(open, RESTART_DELAY_MS);
      };
    };
    open();
  }

  const path = encodeURIComponent;
  return {
    ApiError,
    account,
    pageUrl,
    accounts: () => call("GET", "/_mock/accounts"),
    follow,
    messages: (limit) => call("GET", `/_mock/messages?limit=${limit}`),
    message: (uuid) => call("GET", `/_mock/messages/${path(uuid)}`),
    conversation: (channel, peer) => call("GET", `/_mock/conversations/${path(channel)}/${path(peer)}`),
    workflows: (limit) => call("GET", `/_mock/workflows?limit=${limit}`),
    workflow: (uuid) => call("GET", `/_mock/workflows/${path(uuid)}`),
    webhooks: (limit) => call("GET", `/_mock/webhooks?limit=${limit}`),
    config: () => call("GET", "/_mock/config"),
    updateConfig: (changes) => call("PUT", "/_mock/config", changes),
    clock: () => call("GET", "/_mock/clock"),
    advance: (body) => call("POST", "/_mock/clock/advance", body),
    reset: () => call("POST", "/_mock/reset"),
    inbound: (body) => call("POST", "/_mock/inbound", body),
  };
})();
