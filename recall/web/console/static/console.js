// recall console: forms and links that swap a fragment in place (no page reload), keyboard shortcuts,
// live countdowns, periodic refresh and server-side field checks. Plain JS, served by the app.
(function () {
  "use strict";
  var refreshing = {};  // element id -> its refresh timer
  var csrf = function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; };

  function swap(target, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.firstElementChild && holder.children.length === 1 ? holder.firstElementChild : null;
    if (fresh && target.id && fresh.id === target.id) { target.replaceWith(fresh); target = fresh; }
    else { target.innerHTML = html; }
    document.dispatchEvent(new CustomEvent("recall:swapped", { detail: { target: target } }));
    var focus = target.querySelector("[data-focus]") || target.querySelector(".field-error:not([hidden])");
    if (focus && focus.focus) { if (!focus.hasAttribute("tabindex")) focus.setAttribute("tabindex", "-1"); focus.focus(); }
    wire(target);
  }

  function alert(target, html) {
    var old = target.querySelector("[data-alert]");
    if (old) old.remove();
    target.insertAdjacentHTML("afterbegin", html);
    var shown = target.querySelector("[data-alert]");
    if (shown) { shown.setAttribute("tabindex", "-1"); shown.focus(); }
  }

  function send(method, url, body, targetSel) {
    var target = document.querySelector(targetSel);
    if (!target) return;
    target.setAttribute("aria-busy", "true");
    return fetch(url, { method: method, body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrf() } })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); return null; }
        if (r.headers.get("X-Recall-Alert")) {  // a refusal: shown above what is on screen, which stays
          return r.text().then(function (html) { alert(target, html); return null; });
        }
        return r.text();
      })
      .then(function (html) { if (html !== null && html !== undefined) swap(target, html); })
      .catch(function () {
        var words = document.body.dataset.networkError || "Network error";
        var div = document.createElement("div");
        div.className = "form-error alert"; div.setAttribute("role", "alert"); div.setAttribute("data-alert", "");
        div.textContent = words;
        alert(target, div.outerHTML);
      })
      .finally(function () { target.removeAttribute("aria-busy"); });
  }

  function wire(root) {
    root.querySelectorAll("form[data-swap]").forEach(function (form) {
      if (form.dataset.wired) return; form.dataset.wired = "1";
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var data = new FormData(form);
        if (ev.submitter && ev.submitter.name) data.append(ev.submitter.name, ev.submitter.value);
        var method = (form.getAttribute("method") || "get").toUpperCase();
        var url = form.action;
        if (method === "GET") { url += (url.indexOf("?") < 0 ? "?" : "&") + new URLSearchParams(data).toString(); data = undefined; }
        send(method, url, data, form.dataset.swap);
      });
    });
    root.querySelectorAll("a[data-swap]").forEach(function (a) {
      if (a.dataset.wired) return; a.dataset.wired = "1";
      a.addEventListener("click", function (ev) { ev.preventDefault(); send("GET", a.href, undefined, a.dataset.swap); });
    });
    root.querySelectorAll("form[data-autosubmit] select").forEach(function (sel) {
      if (sel.dataset.wired) return; sel.dataset.wired = "1";
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
    // One timer per element id, which looks the element up each time: a refresh replaces the element with the
    // fresh one (same id), and that one goes on refreshing while it still asks to (an ended job's does not).
    root.querySelectorAll("[data-refresh]").forEach(function (el) {
      if (!el.id || refreshing[el.id]) return;
      var id = el.id, every = parseInt(el.dataset.every || "30", 10) * 1000;
      refreshing[id] = setInterval(function () {
        var now = document.getElementById(id);
        if (!now || !now.dataset.refresh) { clearInterval(refreshing[id]); delete refreshing[id]; return; }
        send("GET", now.dataset.refresh, undefined, "#" + id);
      }, every);
    });
    root.querySelectorAll("input[data-check-url]").forEach(function (input) {
      if (input.dataset.wired) return; input.dataset.wired = "1";
      var timer = null;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var url = input.dataset.checkUrl + (input.dataset.checkUrl.indexOf("?") < 0 ? "?" : "&") +
            encodeURIComponent(input.name) + "=" + encodeURIComponent(input.value);
          fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
            .then(function (r) { return r.json(); })
            .then(function (answer) {
              var box = document.getElementById(input.name + "-error");
              var hint = document.getElementById(input.name + "-hint");
              if (box) { box.textContent = answer.error || ""; box.hidden = !answer.error; }
              if (hint) { hint.textContent = answer.normalized || ""; }
              input.setAttribute("aria-invalid", answer.error ? "true" : "false");
            }).catch(function () {});
        }, 250);
      });
    });
  }

  // data-countdown: seconds left when the server rendered it (the server's clock, not the browser's).
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (!el.dataset.countdownEnds) el.dataset.countdownEnds = String(Date.now() + 1000 * parseInt(el.dataset.countdown, 10));
      var left = Math.max(0, Math.round((parseInt(el.dataset.countdownEnds, 10) - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      el.classList.toggle("bad", left < 60);
    });
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var el = document.querySelector('[data-shortcut="' + ev.key.toLowerCase() + '"]');
    if (el && !el.disabled) { ev.preventDefault(); el.click(); }
  });

  // == manager's office (recall/web/console/manager) ==
  // A submit button with data-swap="#target" and formaction posts its own form there and swaps the answer into
  // the target, the rest of the form staying as it is: the policy editor's Preview buttons, beside its Save.
  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("button[data-swap][formaction]") : null;
    if (!button || !button.form) return;
    ev.preventDefault();
    var data = new FormData(button.form);
    if (button.name) data.append(button.name, button.value);
    send("POST", button.formAction, data, button.dataset.swap);
  });
  // == end of manager's office ==

  document.addEventListener("DOMContentLoaded", function () { wire(document); tick(); setInterval(tick, 1000); });
})();
