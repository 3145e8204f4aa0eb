/* Building the DOM: conversation rows, bubbles, hops, message detail and webhook log rows. Text only via text nodes. */
"use strict";

window.MockView = (() => {
  const M = window.MockModel;
  const TICKS = {
    accepted: { mark: "…", label: "accepted, not yet submitted" },
    submitted: { mark: "✓", label: "submitted" },
    delivered: { mark: "✓✓", label: "delivered" },
    read: { mark: "✓✓", label: "read" },
    rejected: { mark: "✕", label: "rejected" },
    undeliverable: { mark: "✕", label: "undeliverable" },
  };

  /** createElement with attributes; children strings become text nodes (never parsed as HTML). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    node.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
    return node;
  }

  /** Only http(s) URLs become links or sources: message content is user input. */
  function safeUrl(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch {
      return null;
    }
  }

  const clockTime = (iso) => (iso ? iso.slice(11, 19) : "");
  const fullTime = (iso) => (iso ? iso.replace("T", " ").replace("Z", "") : "");
  const json = (value) => JSON.stringify(value, null, 2);
  const price = (usage) => (usage ? `${usage.price} ${usage.currency}` : null);

  function displayPeer(channel, peer) {
    return channel === "messenger" || !/^\d+$/.test(peer) ? peer : `+${peer}`;
  }

  function badge(channel) {
    const info = M.CHANNELS[channel] || { name: channel, badge: "?" };
    return el("span", { class: `badge ch-${channel}`, title: info.name, "aria-label": info.name }, info.badge);
  }

  function externalLink(url, text) {
    const href = safeUrl(url);
    return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text) : el("span", {}, text);
  }

  // -- conversation list -----------------------------------------------------------------------------
  function preview(message) {
    const content = message.message.content || {};
    const body = content.type === "text" ? content.text
      : content.type === "template" ? `[template ${(content.template || {}).name || ""}]` : `[${content.type}]`;
    return `${message.direction === "inbound" ? "← " : "→ "}${body}`;
  }

  function conversationRow(thread, selected) {
    const classes = ["conversation", selected && "selected", thread.unreadFailures && "has-failure"];
    const failures = thread.unreadFailures
      ? el("span", { class: "failure-count" }, `${thread.unreadFailures} failed`) : null;
    return el("li", {},
      el("button", { type: "button", class: classes.filter(Boolean).join(" "), dataset: { key: thread.key },
        "aria-current": selected ? "true" : null,
        "aria-label": `${M.channelName(thread.channel)} conversation with ${thread.peer}` },
      el("span", { class: "badges" }, thread.channels.map(badge)),
      el("span", { class: "conv-main" },
        el("span", { class: "peer" }, displayPeer(thread.channel, thread.peer)),
        el("span", { class: "preview" }, preview(thread.last))),
      el("span", { class: "conv-side" }, el("time", {}, clockTime(thread.last.created_at)), failures)));
  }

  // -- bubbles ---------------------------------------------------------------------------------------
  function media(kind, item) {
    const src = safeUrl(item && item.url);
    if (!src) return el("p", { class: "text" }, `[${kind}]`);
    const source = window.MockApi.pageUrl(src);
    if (kind === "image") {
      const link = externalLink(src, "image (could not load)");
      const img = el("img", { class: "thumb", src: source, alt: "Image", loading: "lazy", referrerpolicy: "no-referrer",
        onerror: () => img.replaceWith(link) });
      return img;
    }
    if (kind === "audio" || kind === "video") {
      return el(kind, { class: kind, src: source, controls: true, preload: "none", "aria-label": kind });
    }
    return el("p", { class: "file" }, "File: ", externalLink(src, decodeURIComponent(src.split("/").pop() || src)));
  }

  function locationContent(loc) {
    const where = `${loc.lat}, ${loc.long}`;
    const map = loc.url || `https://www.openstreetmap.org/?mlat=${encodeURIComponent(loc.lat)}` +
      `&mlon=${encodeURIComponent(loc.long)}#map=15/${encodeURIComponent(loc.lat)}/${encodeURIComponent(loc.long)}`;
    return el("p", { class: "location" }, `Location ${where} `, externalLink(map, "open map"));
  }

  function suggestionList(suggestions) {
    if (!Array.isArray(suggestions) || !suggestions.length) return null;
    return el("ul", { class: "suggestions", "aria-label": "Suggestions" },
      ...suggestions.map((s) => el("li", { class: `suggestion suggestion-${s.type}`, title: s.type }, s.text || "")));
  }

  function card(item) {
    return el("div", { class: "card" },
      media("image", { url: item.media_url }),
      el("p", { class: "card-title" }, item.title || ""),
      el("p", { class: "text" }, item.text || ""),
      suggestionList(item.suggestions));
  }

  function template(item) {
    const params = (item.parameters || []).map((p) => (typeof p === "string" ? p : p && p.default));
    return el("div", { class: "template" },
      el("p", { class: "template-name" }, `Template ${item.name || ""}`),
      params.length ? el("p", { class: "template-params" }, `Parameters: ${params.join(", ")}`) : null);
  }

  /** WhatsApp's own objects in `custom`: locations, reactions and interactive messages are shown; the rest named. */
  function custom(item) {
    const kind = item && item.type;
    if (kind === "location" && item.location) {
      return locationContent({ lat: item.location.latitude, long: item.location.longitude });
    }
    if (kind === "reaction" && item.reaction) return el("p", { class: "reaction" }, `Reaction ${item.reaction.emoji || ""}`);
    if (kind === "interactive" && item.interactive) {
      const body = item.interactive.body || {};
      const buttons = ((item.interactive.action || {}).buttons || []).map((b) => ({ type: "reply",
        text: (b.reply || {}).title }));
      return el("div", { class: "interactive" }, el("p", { class: "text" }, body.text || "[interactive]"),
        suggestionList(buttons));
    }
    return el("p", { class: "text" }, `[custom${kind ? ` ${kind}` : ""}]`);
  }

  function content(message) {
    const body = message.message.content || {};
    const item = body[body.type];
    switch (body.type) {
      case "text": return el("div", {}, el("p", { class: "text" }, body.text || ""), suggestionList(body.suggestions));
      case "location": return item ? locationContent(item) : el("p", { class: "text" }, "[location]");
      case "template": return template(item || {});
      case "sticker": return item && item.url ? media("image", item) : el("p", { class: "sticker" }, "[sticker]");
      case "reaction": return el("p", { class: "reaction" }, `Reaction ${(item || {}).emoji || ""}`);
      case "reply": return el("p", { class: "text reply-choice" }, `Chose: ${(item || {}).title || ""}`);
      case "custom": return custom(item);
      case "card": return el("div", {}, card(item || {}), suggestionList(body.suggestions));
      case "carousel": return el("div", { class: "carousel" }, ...((item || {}).cards || []).map(card),
        suggestionList(body.suggestions));
      case "content": return el("div", {}, ...(item || []).map((part) => media(part.type, part)));
      default: return media(body.type, item);
    }
  }

  function ticks(message) {
    const tick = TICKS[message.status] || { mark: "?", label: message.status };
    return el("span", { class: `ticks tick-${message.status}`, dataset: { status: message.status },
      title: tick.label, "aria-label": tick.label }, tick.mark);
  }

  function bubble(message, showChannel) {
    const outbound = message.direction === "outbound";
    const error = M.isFailed(message) ? M.lastError(message) : null;
    const classes = ["bubble", outbound ? "out" : "in", `status-${message.status}`, error && "failed"];
    return el("li", { class: classes.filter(Boolean).join(" "), tabindex: 0, role: "button",
      dataset: { uuid: message.message_uuid, status: message.status, channel: message.channel },
      "aria-label": `${outbound ? "Sent" : "Received"} ${M.channelName(message.channel)} message, ` +
        `${message.status}: open details` },
    showChannel ? el("span", { class: `channel-tag ch-${message.channel}` }, M.channelName(message.channel)) : null,
    content(message),
    error ? el("p", { class: "error" }, `Error ${error.code}: ${error.reason}`) : null,
    el("p", { class: "meta" },
      M.labelled() ? el("span", { class: "account-tag" }, M.ownerLabel(message)) : null,
      el("time", { datetime: message.created_at, title: fullTime(message.created_at) }, clockTime(message.created_at)),
      outbound && M.usageOf(message) ? el("span", { class: "price" }, price(M.usageOf(message))) : null,
      outbound ? ticks(message) : null));
  }

  function workflowNote(entry) {
    const workflow = entry.workflow;
    if (entry.kind === "hop") {
      return el("li", { class: "hop", role: "note" }, M.hopText(entry.item, entry.next));
    }
    if (entry.kind === "workflow-start") {
      return el("li", { class: "workflow-note", role: "note" }, `Failover workflow: ${M.workflowRoute(workflow)}`);
    }
    return el("li", { class: `workflow-end wf-${workflow.status}`, role: "note", dataset: { status: workflow.status } },
      M.workflowEndText(workflow));
  }

  /** A key and a signature per timeline entry, so unchanged bubbles (and playing media) are kept as they are. */
  function entryKey(entry) {
    return entry.kind === "message" ? entry.message.message_uuid
      : `${entry.kind}:${entry.workflow.workflow_uuid}:${entry.item ? entry.item.index : ""}`;
  }

  function entrySignature(entry, showChannel) {
    if (entry.kind === "message") return `${entry.message.history.length}:${showChannel}:${M.labelled()}`;
    return `${entry.workflow.status}:${entry.workflow.items.map((item) => item.state).join(",")}`;
  }

  function entryNode(entry, showChannel) {
    return entry.kind === "message" ? bubble(entry.message, showChannel) : workflowNote(entry);
  }

  // -- message detail ----------------------------------------------------------------------------------
  function table(headings, rows, caption) {
    return el("table", {}, el("caption", {}, caption),
      el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", {}, cell ?? ""))))));
  }

  function attemptResult(attempt) {
    return attempt.error ? attempt.error : `HTTP ${attempt.status_code}`;
  }

  function attemptsTable(delivery) {
    const rows = delivery.attempts.map((a) => [fullTime(a.at), attemptResult(a), `${a.latency_ms} ms`, a.response || ""]);
    return table(["At", "Answer", "Latency", "Response body"], rows, `${delivery.attempts.length} attempt(s)`);
  }

  function deliveryBlock(delivery) {
    const next = delivery.next_attempt_at ? ` · next attempt ${fullTime(delivery.next_attempt_at)}` : "";
    return el("section", { class: `delivery state-${delivery.state}` },
      el("h4", {}, `${delivery.kind} → `, el("code", {}, delivery.url), ` · ${delivery.state}${next}`),
      attemptsTable(delivery),
      el("details", {}, el("summary", {}, "Payload"), el("pre", {}, json(delivery.payload))));
  }

  function detail(message) {
    const request = { to: message.to, from: message.from, message: message.message };
    if (message.client_ref) request.client_ref = message.client_ref;
    const history = message.history.map((entry) => [entry.status, fullTime(entry.timestamp),
      entry.error ? `${entry.error.code}: ${entry.error.reason}` : "", price(entry.usage) || ""]);
    const facts = [["Message UUID", message.message_uuid], ["Channel", M.channelName(message.channel)],
      ["Direction", message.direction], ["Status", message.status], ["API", message.api],
      ["Workflow", message.workflow_uuid || "none"]];
    return [
      el("dl", { class: "facts" }, facts.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)])),
      el("h3", {}, "Status history"),
      table(["Status", "Simulated time", "Error", "Price"], history, "Every status, in order"),
      el("h3", {}, message.direction === "inbound" ? "Message as received" : "Request as sent"),
      el("pre", { class: "request" }, json(request)),
      el("h3", {}, `Webhooks (${message.webhooks.length})`),
      message.webhooks.length ? message.webhooks.map(deliveryBlock) : el("p", { class: "empty" }, "No webhooks for it."),
    ];
  }

  // -- webhook log ---------------------------------------------------------------------------------------
  function lastAnswer(delivery) {
    const last = delivery.attempts[delivery.attempts.length - 1];
    return last ? `${attemptResult(last)} in ${last.latency_ms} ms` : "not attempted yet";
  }

  /** What a delivery reports: the status, or the inbound content type, and whose it is. */
  function deliveryAbout(delivery) {
    const payload = delivery.payload || {};
    const what = payload.status || (payload.message && payload.message.content && payload.message.content.type) || "";
    return `${what} · ${delivery.subject_uuid.slice(0, 8)}`;
  }

  function webhookRows(delivery, expanded, onToggle) {
    const row = el("tr", { class: `webhook-row state-${delivery.state}`, dataset: { id: delivery.id } },
      el("td", {}, el("time", { datetime: delivery.created_at }, clockTime(delivery.created_at))),
      el("td", {}, delivery.kind),
      el("td", { title: delivery.subject_uuid }, deliveryAbout(delivery)),
      el("td", { class: "url" }, delivery.url),
      el("td", {}, el("span", { class: "state" }, delivery.state)),
      el("td", {}, String(delivery.attempts.length)),
      el("td", {}, el("button", { type: "button", class: "link", "aria-expanded": String(expanded),
        onclick: () => onToggle(delivery.id) }, lastAnswer(delivery))));
    if (!expanded) return [row];
    return [row, el("tr", { class: "webhook-detail" }, el("td", { colspan: 7 }, deliveryBlock(delivery)))];
  }

  return { el, badge, displayPeer, conversationRow, entryKey, entrySignature, entryNode, detail, webhookRows, fullTime };
})();
