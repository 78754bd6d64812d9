// Page-wide behaviour. No inline scripts anywhere (strict CSP): everything lives in files like this one.
// Loaded in <head> without defer: whatever runs here at once must not need the body.
"use strict";
(function () {
  // 大字模式 (elder mode, issue 13). The server renders the person's choice and when it last changed
  // on <html>; a page the service worker kept from before a change carries an older time, so the
  // newer of the page's and this phone's copy wins, and large text stays on offline too.
  var html = document.documentElement;
  var person = html.getAttribute("data-person");
  if (!person) return;
  var key = "weiwang-large-text-" + person;
  var page = { on: html.getAttribute("data-large-text") === "1", at: html.getAttribute("data-large-text-at") || "" };
  var kept = null;
  try { kept = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { /* private mode: the page decides */ }
  var choice = page;
  if (kept && kept.at > page.at) choice = kept;
  else { try { localStorage.setItem(key, JSON.stringify(page)); } catch (e) { /* ignore */ } }
  html.classList.toggle("elder", !!choice.on);
})();

(function () {
  // A field the browser finds wrong gets its message beside it, in the page's language, instead of
  // the browser's bubble (which an older eye misses and which vanishes); the first one is scrolled to.
  var lastScroll = 0;
  function wrapperOf(el) { return el.closest(".field") || el.parentNode; }
  document.addEventListener("invalid", function (event) {
    var el = event.target;
    event.preventDefault();
    var wrapper = wrapperOf(el);
    var choose = el.type === "radio" || el.type === "checkbox" || el.tagName === "SELECT";
    var body = document.body;
    var message = el.validity.valueMissing ? body.getAttribute(choose ? "data-msg-choose" : "data-msg-required") : el.validationMessage;
    var p = wrapper.querySelector("[data-check-error]");
    if (!p) {
      p = document.createElement("p");
      p.className = "error"; p.setAttribute("role", "alert"); p.setAttribute("data-check-error", "");
      wrapper.appendChild(p);
    }
    p.textContent = message;
    wrapper.classList.add("field-error");
    el.setAttribute("aria-invalid", "true");
    if (Date.now() - lastScroll > 1000) {
      lastScroll = Date.now();
      wrapper.scrollIntoView({ block: "center" });
      if (!choose) el.focus({ preventScroll: true });
    }
  }, true);
  function clear(event) {
    var el = event.target;
    if (!el || !el.closest || !el.willValidate || !el.validity.valid) return;
    var wrapper = wrapperOf(el);
    var p = wrapper.querySelector("[data-check-error]");
    if (p) { p.remove(); wrapper.classList.remove("field-error"); el.removeAttribute("aria-invalid"); }
  }
  document.addEventListener("input", clear);
  document.addEventListener("change", clear);
})();

(function () {
  // The CSRF token is tied to the session (server/csrf.py) and the `csrftoken` cookie always holds
  // the latest one the server handed out. A page the service worker served from its cache carries
  // the token of the session it was kept under (meta tag, hx-headers, forms' _csrf_token), which a
  // sign-in since has replaced: every request takes the cookie's token instead, as accounts.js and
  // outbox-core.js do. Without a cookie the page's own token stands.
  function cookieToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : null;
  }
  // htmx requests (boosted links and forms, hx-post...): the header htmx built from hx-headers.
  document.addEventListener("htmx:config:request", function (event) {
    var token = cookieToken();
    var request = event.detail && event.detail.ctx && event.detail.ctx.request;
    if (!token || !request) return;
    request.headers["x-csrftoken"] = token;
    if (request.body && request.body.has && request.body.has("_csrf_token")) request.body.set("_csrf_token", token);
  });
  // Forms the browser posts itself (hx-boost="false"): the hidden field, just before it goes.
  document.addEventListener("submit", function (event) {
    var token = cookieToken();
    var form = event.target;
    if (!token || !(form instanceof HTMLFormElement)) return;
    form.querySelectorAll('input[name="_csrf_token"]').forEach(function (input) { input.value = token; });
  }, true);
})();

(function () {
  // The photo button says how many photos are chosen (the native input is out of sight).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.type !== "file") return;
    var note = input.closest(".field") && input.closest(".field").querySelector("[data-photo-count]");
    if (!note) return;
    var n = input.files ? input.files.length : 0;
    note.textContent = (note.getAttribute("data-msg") || "%(n)s").replace("%(n)s", String(n));
    note.hidden = n === 0;
  });

  // WeChat's own browser cannot install the app and may drop what it keeps offline: say how to open
  // the page in the phone's browser (the residents' pages work inside WeChat and say nothing).
  function wechatHint() {
    if (!/MicroMessenger/i.test(navigator.userAgent)) return;
    var hint = document.getElementById("wechat-hint");
    if (hint) hint.hidden = false;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wechatHint);
  else wechatHint();
})();
