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
