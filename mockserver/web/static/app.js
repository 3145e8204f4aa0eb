/* The page's behaviour: load a snapshot, follow the live stream, render, and drive the mock from the controls. */
"use strict";

(() => {
  const api = window.MockApi;
  const M = window.MockModel;
  const V = window.MockView;
  const $ = (selector) => document.querySelector(selector);
  const SNAPSHOT = { messages: 1000, workflows: 500, webhooks: 500 };
  const CLOCK_REFRESH_MS = 250;
  const SAMPLE_IMAGE = "/static/samples/photo.svg";

  const ui = {
    selected: decodeURIComponent(location.hash.slice(1)) || null,
    view: "conversations",
    loading: false,
    queued: [],
    bubbleCache: new Map(),
    expandedDeliveries: new Set(),
    detailUuid: null,
    clockBase: null,  // {sim: epoch ms, wall: performance.now()} to move the real clock between updates
    renderPending: false,
    scrollToEnd: false,
  };

  // -- errors are shown, never thrown at the console ---------------------------------------------------
  function notify(text) {
    const toast = $("#toast");
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(notify.timer);
    notify.timer = setTimeout(() => { toast.hidden = true; }, 6000);
  }

  const act = (fn) => (...args) => Promise.resolve().then(() => fn(...args)).catch((error) => notify(error.message));

  // -- loading and live updates --------------------------------------------------------------------------
  async function loadSnapshot() {
    ui.loading = true;
    try {
      const [messages, workflows, webhooks, config, clock] = await Promise.all([
        api.messages(SNAPSHOT.messages), api.workflows(SNAPSHOT.workflows), api.webhooks(SNAPSHOT.webhooks),
        api.config(), api.clock()]);
      M.clear();
      // Lists come newest first; keep them oldest first so messages of the same instant stay in sending order.
      workflows.workflows.reverse().forEach(M.putWorkflow);
      messages.messages.reverse().forEach(M.putMessage);
      webhooks.deliveries.reverse().forEach(M.putDelivery);
      M.state.config = config;
      setClock(clock);
    } finally {
      ui.loading = false;
      const queued = ui.queued.splice(0);
      queued.forEach(([type, data]) => apply(type, data));
      render();
    }
  }

  function onEvent(type, data) {
    if (type === "hello") {  // first connection, or again after the server restarted: start from a snapshot
      ui.loading = true;
      act(loadSnapshot)();
      return;
    }
    if (ui.loading) ui.queued.push([type, data]);
    else apply(type, data);
  }

  function apply(type, data) {
    if (data.now) moveClock(data.now);
    if (data.lost_events || type === "mock.reset") {
      act(loadSnapshot)();
      return;
    }
    if (data.message) M.putMessage(data.message);
    if (data.workflow) M.putWorkflow(data.workflow);
    if (data.delivery) M.putDelivery(data.delivery);
    if (data.config) M.state.config = data.config;
    if (data.message && data.message.workflow_uuid && !M.state.workflows.has(data.message.workflow_uuid)) {
      act(fetchWorkflow)(data.message.workflow_uuid);
    }
    refreshDetailIfAbout(data);
    scheduleClockRefresh();
    scheduleRender();
  }

  async function fetchWorkflow(uuid) {
    M.putWorkflow(await api.workflow(uuid));
    scheduleRender();
  }

  function setConnection(state) {
    const badge = $("#connection");
    badge.dataset.state = state;
    badge.textContent = state === "live" ? "live" : "reconnecting…";
  }

  // -- rendering ----------------------------------------------------------------------------------------
  function scheduleRender() {
    if (ui.renderPending) return;
    ui.renderPending = true;
    requestAnimationFrame(() => {
      ui.renderPending = false;
      render();
    });
  }

  function render() {
    const threads = M.threads();
    renderList(threads);
    renderThread(threads.find((thread) => thread.key === ui.selected) || null);
    if (ui.view === "webhooks") renderWebhooks();
    renderTargets();
  }

  function renderList(threads) {
    const channel = $("#filter-channel").value;
    const status = $("#filter-status").value;
    const shown = threads.filter((thread) => M.matches(thread, channel, status));
    const list = $("#conversation-list");
    const focused = list.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    list.replaceChildren(...shown.map((t) => V.conversationRow(t, t.key === ui.selected)));
    if (focused) {  // rows are rebuilt on every change: keep the keyboard where it was
      const row = [...list.querySelectorAll(".conversation")].find((button) => button.dataset.key === focused);
      if (row) row.focus();
    }
    $("#conversation-empty").hidden = shown.length > 0;
    $("#conversation-empty").textContent = threads.length ? "No conversation matches the filters."
      : "No messages yet. Send one to the mock's API, or inject an inbound message.";
  }

  function renderThread(thread) {
    document.body.classList.toggle("thread-open", Boolean(ui.selected));
    const replies = thread && M.REPLIES[thread.channel];
    $("#reply").hidden = !(replies && thread.pageId);
    if (replies) {
      $("#reply-image").hidden = !replies.types.includes("image");
      $("#reply-location").hidden = !replies.types.includes("location");
      $("#reply-text").placeholder = `Reply as the ${M.channelName(thread.channel)} user…`;
    }
    if (!thread) {
      $("#thread-title").textContent = ui.selected ? "No messages in this conversation" : "Select a conversation";
      $("#thread-subtitle").textContent = "";
      $("#thread-badge").replaceChildren();
      $("#bubbles").replaceChildren();
      ui.bubbleCache.clear();
      return;
    }
    M.markSeen(thread);
    $("#thread-badge").replaceChildren(...thread.channels.map(V.badge));
    $("#thread-title").textContent = V.displayPeer(thread.channel, thread.peer);
    $("#thread-subtitle").textContent = threadSubtitle(thread);
    renderBubbles(M.timeline(thread), thread.channels.length > 1);
  }

  function threadSubtitle(thread) {
    const count = `${thread.messages.length} message${thread.messages.length === 1 ? "" : "s"}`;
    const workflows = [...thread.workflows].map((uuid) => M.state.workflows.get(uuid)).filter(Boolean);
    const flows = workflows.map((w) => `failover ${M.workflowRoute(w)}: ${w.status.replace("_", " ")}`);
    return [thread.channels.map(M.channelName).join(" + "), count, ...flows].join(" · ");
  }

  function renderBubbles(entries, showChannel) {
    const list = $("#bubbles");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const cache = new Map();
    const nodes = entries.map((entry) => {
      const key = V.entryKey(entry);
      const signature = V.entrySignature(entry, showChannel);
      const cached = ui.bubbleCache.get(key);
      const node = cached && cached.signature === signature ? cached.node : V.entryNode(entry, showChannel);
      cache.set(key, { node, signature });
      return node;
    });
    ui.bubbleCache = cache;
    list.replaceChildren(...nodes);
    if (atBottom || ui.scrollToEnd) list.scrollTop = list.scrollHeight;
    ui.scrollToEnd = false;
  }

  function renderWebhooks() {
    const deliveries = [...M.state.deliveries.values()].reverse();
    const rows = deliveries.flatMap((d) => V.webhookRows(d, ui.expandedDeliveries.has(d.id), toggleDelivery));
    $("#webhook-rows").replaceChildren(...rows);
    $("#webhook-empty").hidden = deliveries.length > 0;
  }

  function toggleDelivery(id) {
    if (!ui.expandedDeliveries.delete(id)) ui.expandedDeliveries.add(id);
    renderWebhooks();
  }

  function renderTargets() {
    const config = M.state.config || {};
    $("#target-status").textContent = config.status_url || "not set";
    $("#target-inbound").textContent = config.inbound_url || "not set";
  }

  // -- selecting a conversation ----------------------------------------------------------------------------
  function select(key) {
    ui.selected = key;
    ui.scrollToEnd = true;
    history.replaceState(null, "", `${location.pathname}${location.search}${key ? `#${encodeURIComponent(key)}` : ""}`);
    render();
    const thread = key && M.threads().find((t) => t.key === key);
    if (thread) act(fillThread)(thread);
  }

  /** The snapshot holds the newest messages only: fetch the whole conversation when it is opened. */
  async function fillThread(thread) {
    const found = await api.conversation(thread.channel, thread.peer);
    found.messages.forEach(M.putMessage);
    scheduleRender();
  }

  // -- message detail ------------------------------------------------------------------------------------
  async function openDetail(uuid) {
    ui.detailUuid = uuid;
    await showDetail();
    const dialog = $("#detail");
    if (!dialog.open) dialog.showModal();
  }

  async function showDetail() {
    const uuid = ui.detailUuid;
    const message = await api.message(uuid);
    if (uuid !== ui.detailUuid) return;
    $("#detail-title").textContent = `${message.direction === "inbound" ? "Received" : "Sent"} ` +
      `${M.channelName(message.channel)} message`;
    $("#detail-body").replaceChildren(...V.detail(message).flat(Infinity));
  }

  function refreshDetailIfAbout(data) {
    if (!$("#detail").open) return;
    const subject = (data.message && data.message.message_uuid) || (data.delivery && data.delivery.subject_uuid);
    if (subject === ui.detailUuid) act(showDetail)();
  }

  // -- clock ------------------------------------------------------------------------------------------------
  function setClock(clock) {
    M.state.clock = clock;
    $("#clock-mode").textContent = clock.mode === "real"
      ? `real ×${Number((1 / clock.time_scale).toPrecision(3))}` : "manual";
    const pending = clock.pending_timers;
    $("#clock-pending").textContent = pending ? `${pending} pending` : "idle";
    moveClock(clock.now);
  }

  function moveClock(iso) {
    ui.clockBase = { sim: Date.parse(iso), wall: performance.now() };
    showNow();
  }

  function showNow() {
    const clock = M.state.clock;
    if (!ui.clockBase || !clock) return;
    let sim = ui.clockBase.sim;
    if (clock.mode === "real") sim += (performance.now() - ui.clockBase.wall) / clock.time_scale;
    const iso = new Date(sim).toISOString();
    const now = $("#clock-now");
    now.dateTime = iso;
    now.title = V.fullTime(iso);
    now.textContent = iso.slice(11, 23);
  }

  function scheduleClockRefresh() {
    clearTimeout(scheduleClockRefresh.timer);
    scheduleClockRefresh.timer = setTimeout(act(async () => setClock(await api.clock())), CLOCK_REFRESH_MS);
  }

  async function advance(body) {
    setClock(await api.advance(body));
  }

  async function advanceToNext() {
    const clock = await api.clock();
    if (!clock.next_due) {
      setClock(clock);
      notify("Nothing is scheduled: the clock has no next event.");
      return;
    }
    await advance({ to: clock.next_due });
  }

  // -- acting as the user ----------------------------------------------------------------------------------
  function currentThread() {
    return M.threads().find((thread) => thread.key === ui.selected) || null;
  }

  /** Send an inbound message as the selected conversation's user, on its channel; true once the mock accepted it. */
  async function reply(content) {
    const thread = currentThread();
    const replies = thread && M.REPLIES[thread.channel];
    if (!replies || !thread.pageId) return false;
    const error = $("#reply-error");
    error.hidden = true;
    try {
      // Messenger keeps its 2018 shape by default; the others are sent as v1 users (the mock's default for them).
      // An alphanumeric SMS sender cannot be written to: the mock then fakes the business number.
      const business = replies.business === "number" && !/^\d+$/.test(thread.pageId) ? {}
        : { to: { [replies.business]: thread.pageId } };
      await api.inbound({ channel: replies.channel, from: { [replies.user]: thread.peer }, ...business, content });
      return true;
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      return false;
    }
  }

  async function replyText() {
    const input = $("#reply-text");
    const text = input.value.trim();
    if (!text) return;
    if (await reply({ type: "text", text })) input.value = "";
  }

  // -- settings -------------------------------------------------------------------------------------------
  function openSettings() {
    const config = M.state.config || {};
    $("#cfg-status-url").value = config.status_url || "";
    $("#cfg-inbound-url").value = config.inbound_url || "";
    $("#cfg-time-scale").value = config.time_scale ?? 1;
    $("#cfg-clock").value = config.clock || "manual";
    $("#cfg-demo-mode").checked = Boolean(config.demo_mode);
    $("#cfg-rate-limit").value = config.rate_limit ?? 0;
    $("#cfg-rate-burst").value = config.rate_burst ?? 0;
    $("#cfg-balance").value = config.balance ?? "";
    $("#settings-error").hidden = true;
    $("#settings").showModal();
  }

  async function saveSettings() {
    const changes = {
      status_url: $("#cfg-status-url").value.trim() || null,
      inbound_url: $("#cfg-inbound-url").value.trim() || null,
      demo_mode: $("#cfg-demo-mode").checked,
      rate_limit: Number($("#cfg-rate-limit").value) || 0,
      rate_burst: Math.trunc(Number($("#cfg-rate-burst").value)) || 0,
      balance: $("#cfg-balance").value.trim() === "" ? null : Number($("#cfg-balance").value),
    };
    const scale = Number($("#cfg-time-scale").value);
    if (scale > 0 && scale !== (M.state.config || {}).time_scale) changes.time_scale = scale;
    if ($("#cfg-clock").value !== (M.state.config || {}).clock) changes.clock = $("#cfg-clock").value;
    try {
      M.state.config = await api.updateConfig(changes);
    } catch (failure) {
      $("#settings-error").textContent = failure.message;
      $("#settings-error").hidden = false;
      return;
    }
    $("#settings").close();
    setClock(await api.clock());
    render();
  }

  // -- views ----------------------------------------------------------------------------------------------
  function showView(view) {
    ui.view = view;
    for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-pressed", String(tab.dataset.view === view));
    $("#view-conversations").hidden = view !== "conversations";
    $("#view-webhooks").hidden = view !== "webhooks";
    $("#view-faults").hidden = view !== "faults";
    $("#view-accounts").hidden = view !== "accounts";
    render();
  }

  /** Forms are handled here, never submitted by the browser (preventDefault must happen before any await). */
  function submitWith(handler) {
    return (event) => {
      event.preventDefault();
      act(handler)();
    };
  }

  function bubbleTarget(event) {
    if (event.target.closest("a, audio, video")) return null;
    const bubble = event.target.closest(".bubble");
    return bubble ? bubble.dataset.uuid : null;
  }

  function wire() {
    $("#conversation-list").addEventListener("click", (event) => {
      const row = event.target.closest(".conversation");
      if (row) select(row.dataset.key);
    });
    $("#back").addEventListener("click", () => select(null));
    $("#bubbles").addEventListener("click", (event) => {
      const uuid = bubbleTarget(event);
      if (uuid) act(openDetail)(uuid);
    });
    $("#bubbles").addEventListener("keydown", (event) => {
      const uuid = (event.key === "Enter" || event.key === " ") && bubbleTarget(event);
      if (!uuid) return;
      event.preventDefault();
      act(openDetail)(uuid);
    });
    for (const filter of ["#filter-channel", "#filter-status"]) $(filter).addEventListener("change", render);
    for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
    for (const button of document.querySelectorAll("[data-advance]")) {
      button.addEventListener("click", act(() => advance({ seconds: Number(button.dataset.advance) })));
    }
    $("#advance-next").addEventListener("click", act(advanceToNext));
    $("#reset").addEventListener("click", act(async () => { await api.reset(); await loadSnapshot(); }));
    $("#open-settings").addEventListener("click", openSettings);
    $("#edit-targets").addEventListener("click", openSettings);
    $("#settings-form").addEventListener("submit", submitWith(saveSettings));
    for (const close of document.querySelectorAll("[data-close]")) {
      close.addEventListener("click", () => close.closest("dialog").close());
    }
    $("#detail").addEventListener("close", () => { ui.detailUuid = null; });
    $("#reply").addEventListener("submit", submitWith(replyText));
    $("#reply-image").addEventListener("click", act(() => reply({ type: "image",
      image: { url: new URL(SAMPLE_IMAGE, location.origin).href } })));
    // The mock fills in a realistic (seeded) place when no coordinates are given.
    $("#reply-location").addEventListener("click", act(() => reply({ type: "location" })));
    setInterval(() => { if (M.state.clock && M.state.clock.mode === "real") showNow(); }, 200);
  }

  wire();
  render();
  api.follow(onEvent, setConnection);
})();
