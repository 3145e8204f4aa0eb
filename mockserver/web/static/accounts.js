/* The account picker ("All accounts", or one account: the page then shows and drives that account only) and the
   Accounts view: each account's records, clock and applications with their webhooks. */
"use strict";

(() => {
  const api = window.MockApi;
  const $ = (selector) => document.querySelector(selector);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function hooksOf(app) {
    const messages = (app.capabilities && app.capabilities.messages) || {};
    const hooks = messages.webhooks || {};
    const address = (name) => (hooks[name] && hooks[name].address) || "—";
    return `status → ${address("status_url")} · inbound → ${address("inbound_url")} · ${messages.version || "as sent"}`;
  }

  function applicationList(apps) {
    if (!apps.length) return el("span", "none", "empty");
    const list = el("ul", undefined, "applications");
    for (const app of apps) {
      const item = el("li");
      item.append(el("strong", app.name), ` ${app.id}`, el("br"), el("small", hooksOf(app)));
      list.append(item);
    }
    return list;
  }

  function renderRows(accounts) {
    const rows = accounts.map((account) => {
      const row = el("tr");
      row.dataset.account = account.account;
      row.append(el("td", account.account), el("td", String(account.messages)), el("td", String(account.workflows)),
        el("td", account.clock.now));
      const apps = el("td");
      apps.append(applicationList(account.applications));
      row.append(apps);
      return row;
    });
    $("#account-rows").replaceChildren(...rows);
  }

  function renderPicker(accounts) {
    const picker = $("#account-picker");
    const names = new Set(accounts.map((account) => account.account));
    if (api.account) names.add(api.account);
    const options = [new Option("All accounts", ""), ...[...names].sort().map((name) => new Option(name, name))];
    picker.replaceChildren(...options);
    picker.value = api.account || "";
  }

  async function refresh() {
    try {
      const { accounts } = await api.accounts();
      renderPicker(accounts);
      renderRows(accounts);
    } catch (error) {
      // the server may be restarting: the next refresh tries again
    }
  }

  /** Another account (or all): the page reloads with ?account=, so every view and the stream follow it. */
  function pick() {
    const params = new URLSearchParams(location.search);
    const chosen = $("#account-picker").value;
    if (chosen) params.set("account", chosen);
    else params.delete("account");
    location.search = params.toString();
  }

  $("#account-picker").addEventListener("change", pick);
  $("#account-picker").addEventListener("focus", refresh);
  for (const tab of document.querySelectorAll('.tab[data-view="accounts"]')) tab.addEventListener("click", refresh);
  refresh();
})();
