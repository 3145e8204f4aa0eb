/* What the page knows: messages, workflows and deliveries from the control API, and the threads built from them. */
"use strict";

window.MockModel = (() => {
  const FAILED = new Set(["rejected", "undeliverable"]);
  const CHANNELS = {
    sms: { name: "SMS", badge: "SMS" },
    messenger: { name: "Messenger", badge: "M" },
    viber_service_msg: { name: "Viber", badge: "V" },
    whatsapp: { name: "WhatsApp", badge: "WA" },
    mms: { name: "MMS", badge: "MMS" },
    rcs: { name: "RCS", badge: "RCS" },
  };
  // How the page replies as the user on each channel: the name POST /_mock/inbound takes, the key of each side's
  // address (user, business), and the content types offered besides text.
  const REPLIES = {
    messenger: { channel: "messenger", user: "id", business: "id", types: ["image", "location"] },
    whatsapp: { channel: "whatsapp", user: "number", business: "number", types: ["image", "location"] },
    sms: { channel: "sms", user: "number", business: "number", types: [] },
    viber_service_msg: { channel: "viber_service", user: "number", business: "id", types: ["image"] },
    mms: { channel: "mms", user: "number", business: "number", types: ["image"] },
    rcs: { channel: "rcs", user: "number", business: "id", types: ["image", "location"] },
  };
  const DELIVERY_LIMIT = 1000;

  const state = {
    messages: new Map(),
    workflows: new Map(),
    deliveries: new Map(),
    config: null,
    clock: null,
    seenFailures: new Set(),
    owners: new Set(),  // "account|application" of the messages held: labels show once there is more than one
  };

  function clear() {
    state.owners.clear();
    state.messages.clear();
    state.workflows.clear();
    state.deliveries.clear();
  }

  // -- keeping records: a late snapshot must never undo a newer event ---------------------------------
  function putMessage(message) {
    const old = state.messages.get(message.message_uuid);
    if (!old || message.history.length >= old.history.length) state.messages.set(message.message_uuid, message);
    state.owners.add(`${message.account || ""}|${message.application_id || ""}`);
  }

  const labelled = () => state.owners.size > 1;

  /** Whose message it is: its account, and its application (its id's first part) if it has one. */
  function ownerLabel(message) {
    const app = message.application_id ? ` · app ${message.application_id.split("-")[0]}` : "";
    return `${message.account || "default"}${app}`;
  }

  const ITEM_PROGRESS = { pending: 0, sent: 1 };  // any other item state is an end

  function workflowProgress(workflow) {
    const items = workflow.items.reduce((sum, item) => sum + (ITEM_PROGRESS[item.state] ?? 2), 0);
    return items + (workflow.status === "in_progress" ? 0 : 100);
  }

  function putWorkflow(workflow) {
    const old = state.workflows.get(workflow.workflow_uuid);
    if (!old || workflowProgress(workflow) >= workflowProgress(old)) state.workflows.set(workflow.workflow_uuid, workflow);
  }

  function putDelivery(delivery) {
    const old = state.deliveries.get(delivery.id);
    if (old && old.attempts.length > delivery.attempts.length) return;
    state.deliveries.set(delivery.id, delivery);
    if (state.deliveries.size > DELIVERY_LIMIT) state.deliveries.delete(state.deliveries.keys().next().value);
  }

  // -- reading a message ------------------------------------------------------------------------------
  const addressOf = (address) => (address && (address.number || address.id)) || "";
  const peerOf = (message) => addressOf(message.direction === "inbound" ? message.from : message.to);
  const channelName = (channel) => (CHANNELS[channel] || { name: channel }).name;
  const isFailed = (message) => FAILED.has(message.status);
  const lastError = (message) => [...message.history].reverse().map((entry) => entry.error).find(Boolean) || null;
  const usageOf = (message) => message.history.map((entry) => entry.usage).find(Boolean) || null;

  /** The group the status filter uses. */
  function statusGroup(message) {
    if (message.direction === "inbound") return "received";
    if (isFailed(message)) return "failed";
    if (message.status === "accepted" || message.status === "submitted") return "pending";
    return message.status;
  }

  // -- threads: one per (channel, end user); a workflow's messages join the thread of its first item ---
  function threadKeyOf(message) {
    const workflow = message.workflow_uuid && state.workflows.get(message.workflow_uuid);
    const firstUuid = workflow && workflow.items[0].message_uuid;
    const first = firstUuid && state.messages.get(firstUuid);
    const anchor = first || message;
    return { key: `${anchor.channel}|${peerOf(anchor)}`, channel: anchor.channel, peer: peerOf(anchor) };
  }

  function threads() {
    const byKey = new Map();
    for (const message of state.messages.values()) {
      const { key, channel, peer } = threadKeyOf(message);
      if (!byKey.has(key)) byKey.set(key, { key, channel, peer, messages: [], workflows: new Set() });
      const thread = byKey.get(key);
      thread.messages.push(message);
      if (message.workflow_uuid) thread.workflows.add(message.workflow_uuid);
    }
    const all = [...byKey.values()];
    for (const thread of all) describeThread(thread);
    return all.sort((a, b) => (a.last.created_at < b.last.created_at ? 1 : -1));
  }

  function describeThread(thread) {
    thread.messages.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
    thread.last = thread.messages[thread.messages.length - 1];
    thread.channels = [...new Set([thread.channel, ...thread.messages.map((m) => m.channel)])];
    thread.unreadFailures = thread.messages.filter((m) => isFailed(m) && !state.seenFailures.has(m.message_uuid)).length;
    // The business side of the conversation (a Page, a number, a Viber service or an RCS agent): replies go to it.
    const page = thread.messages.find((m) => m.channel === thread.channel);
    thread.pageId = page ? addressOf(page.direction === "inbound" ? page.to : page.from) : null;
  }

  function markSeen(thread) {
    for (const message of thread.messages) if (isFailed(message)) state.seenFailures.add(message.message_uuid);
    thread.unreadFailures = 0;
  }

  function matches(thread, channel, status) {
    if (channel && !thread.channels.includes(channel)) return false;
    return !status || thread.messages.some((message) => statusGroup(message) === status);
  }

  // -- a thread in time order: messages, plus each workflow's start, hops and end -----------------------
  function timeline(thread) {
    const entries = thread.messages.map((message) => ({ kind: "message", at: message.created_at, rank: 1, message }));
    for (const uuid of thread.workflows) {
      const workflow = state.workflows.get(uuid);
      if (workflow) entries.push(...workflowEntries(workflow));
    }
    const order = (a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.rank - b.rank);
    return entries.sort(order);
  }

  function workflowEntries(workflow) {
    const entries = [{ kind: "workflow-start", at: workflow.created_at, rank: 0, workflow }];
    workflow.items.forEach((item, index) => {
      const next = workflow.items[index + 1];
      if (next && (item.state === "expired" || item.state === "failed")) {
        entries.push({ kind: "hop", at: item.ended_at, rank: 0, workflow, item, next });
      }
    });
    if (workflow.status !== "in_progress") entries.push({ kind: "workflow-end", at: workflow.ended_at, rank: 2, workflow });
    return entries;
  }

  function hopText(item, next) {
    const to = channelName(next.channel);
    if (item.state === "expired") {
      return `No ${item.failover.condition_status} in ${item.failover.expiry_time} s: failed over to ${to}`;
    }
    const message = state.messages.get(item.message_uuid);
    const error = message && lastError(message);
    const status = message ? message.status : "failed";
    return `${status[0].toUpperCase()}${status.slice(1)}${error ? ` (${error.code})` : ""}: failed over to ${to}`;
  }

  function workflowEndText(workflow) {
    if (workflow.status === "error") return "Workflow failed: no channel met its condition";
    const item = workflow.items.find((i) => i.state === "condition_met" || i.state === "delivered");
    if (!item) return `Workflow ${workflow.status}`;
    const reached = item.failover ? item.failover.condition_status : "delivered";
    return `Workflow completed: ${reached} on ${channelName(item.channel)}`;
  }

  function workflowRoute(workflow) {
    return workflow.items.map((item) => channelName(item.channel)).join(" → ");
  }

  return {
    state, clear, putMessage, putWorkflow, putDelivery, threads, timeline, matches, markSeen, labelled, ownerLabel,
    addressOf, peerOf, channelName, isFailed, lastError, usageOf, hopText, workflowEndText, workflowRoute, CHANNELS, REPLIES,
  };
})();
