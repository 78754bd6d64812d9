// Enrolment and sign-in: passkeys where the browser has them, a device key + PIN where it does not.
// The device key is an ECDSA P-256 key made by WebCrypto with extractable=false, kept in
// IndexedDB "weiwang-keys": the page can use it to sign, nobody can copy it out.
"use strict";
(function () {
  var KEY_DB = "weiwang-keys";
  var KEY_STORE = "keys";
  var PASSKEY_TIMEOUT_MS = 60000;

  function b64url(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  function csrfToken() {
    // The cookie first: the token is tied to the session (server/csrf.py) and the cookie is always
    // the latest the server handed out; a page the service worker served from its cache may carry
    // an older one in its meta tag.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  async function postJSON(url, body) {
    var response;
    try {
      response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json", "accept": "application/json", "x-csrftoken": csrfToken() },
        body: JSON.stringify(body || {}),
      });
    } catch (err) {
      return { ok: false, network: true, data: {} };
    }
    var data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    return { ok: response.ok, status: response.status, data: data };
  }

  // --- the key store -------------------------------------------------------------------
  function openKeys() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(KEY_DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(KEY_STORE, { keyPath: "id" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  async function keyStore(mode, action) {
    var db = await openKeys();
    return new Promise(function (resolve, reject) {
      var tx = db.transaction(KEY_STORE, mode);
      var result = action(tx.objectStore(KEY_STORE));
      tx.oncomplete = function () { db.close(); resolve(result && "result" in result ? result.result : undefined); };
      tx.onerror = function () { db.close(); reject(tx.error); };
    });
  }
  async function newestKey() {
    if (!window.indexedDB) return null;
    try {
      var all = await keyStore("readonly", function (store) { return store.getAll(); });
      all = (all || []).sort(function (a, b) { return b.created - a.created; });
      return all[0] || null;
    } catch (err) { return null; }
  }
  function deviceKeysPossible() {
    return !!(window.indexedDB && window.crypto && crypto.subtle);
  }
  async function signText(privateKey, text) {
    return crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, new TextEncoder().encode(text));
  }

  // --- passkeys ------------------------------------------------------------------------
  async function passkeySupport() {
    if (!window.PublicKeyCredential || !navigator.credentials || !navigator.credentials.create) return "none";
    try {
      return (await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()) ? "yes" : "no";
    } catch (err) { return "no"; }
  }
  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    var options = Object.assign({}, json);
    options.challenge = unb64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: unb64url(json.user.id) });
    options.excludeCredentials = (json.excludeCredentials || []).map(function (c) { return Object.assign({}, c, { id: unb64url(c.id) }); });
    return options;
  }
  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    var options = Object.assign({}, json);
    options.challenge = unb64url(json.challenge);
    options.allowCredentials = (json.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: unb64url(c.id) }); });
    return options;
  }
  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    var r = credential.response, response = { clientDataJSON: b64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = b64url(r.authenticatorData);
      response.signature = b64url(r.signature);
      if (r.userHandle) response.userHandle = b64url(r.userHandle);
    }
    return {
      id: credential.id, rawId: b64url(credential.rawId), type: credential.type, response: response,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }
  function withTimeout() {
    // With no authenticator, create()/get() can hang until the browser gives up: stop it ourselves.
    return typeof AbortSignal !== "undefined" && AbortSignal.timeout ? AbortSignal.timeout(PASSKEY_TIMEOUT_MS) : undefined;
  }

  // Where to go after signing in: only a path on this site, by the same rule as the server's
  // safe_next (server/web.py), applied again here whatever the answer says.
  var LOCAL_PATH = /^\/(?![\/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%\/?#]*$/;
  function sameSiteNext(value) {
    if (typeof value !== "string" || value.length > 2000 || !LOCAL_PATH.test(value)) return "/";
    var decoded = value;
    for (var i = 0; i < 2; i++) {
      try { decoded = decodeURIComponent(decoded); } catch (err) { return "/"; }
      if (/^\/[\/\\]/.test(decoded) || decoded.indexOf("\\") >= 0 || /[\u0000-\u001f\u007f-\u009f]/.test(decoded)) return "/";
    }
    try {
      if (new URL(value, location.origin).origin !== location.origin) return "/";
    } catch (err) { return "/"; }
    return value;
  }
  function goOn(next) { window.location.assign(sameSiteNext(next || "/")); }

  // --- page helpers --------------------------------------------------------------------
  function show(el, visible) { if (el) el.hidden = !visible; }
  function say(section, id, message) {
    var el = document.getElementById(id);
    el.textContent = message;
    el.hidden = !message;
  }
  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = on; });
  }

  // --- the invitation page -------------------------------------------------------------
  async function initEnrol(section) {
    var token = section.dataset.token;
    var msg = section.dataset;
    var support = await passkeySupport();
    show(document.getElementById("enrol-checking"), false);
    var passkeyBox = document.getElementById("enrol-passkey");
    var deviceForm = document.getElementById("enrol-device");
    var nameInput = document.getElementById("f-name");
    if (support === "yes") {
      show(passkeyBox, true);
    } else {
      show(deviceForm, true);
    }
    section.dataset.support = support;
    if (!deviceKeysPossible()) say(section, "enrol-error", msg.msgNostorage);

    document.getElementById("use-device-key").addEventListener("click", function () {
      show(passkeyBox, false);
      show(document.getElementById("no-passkey-reason"), false);
      show(deviceForm, true);
    });

    document.getElementById("passkey-enrol").addEventListener("click", async function () {
      say(section, "enrol-error", "");
      busy(passkeyBox, true);
      try {
        var options = await postJSON("/api/invite/" + token + "/options", { kind: "passkey" });
        if (!options.ok) return say(section, "enrol-error", options.data.message || (options.network ? msg.msgNetwork : msg.msgFailed));
        var credential;
        try {
          credential = await navigator.credentials.create({ publicKey: creationOptions(options.data.publicKey), signal: withTimeout() });
        } catch (err) {
          return say(section, "enrol-error", msg.msgCancelled);
        }
        var result = await postJSON("/api/invite/" + token + "/enrol", {
          kind: "passkey", credential: credentialJSON(credential), name: nameInput ? nameInput.value : "",
        });
        if (!result.ok) return say(section, "enrol-error", result.data.message || (result.network ? msg.msgNetwork : msg.msgFailed));
        show(document.getElementById("enrol-done"), true);
        goOn(result.data.next);
      } finally {
        busy(passkeyBox, false);
      }
    });

    deviceForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      say(section, "enrol-error", "");
      var pin = deviceForm.elements.pin.value, pin2 = deviceForm.elements.pin2.value;
      if (!/^[0-9]{6}$/.test(pin)) return say(section, "enrol-error", msg.msgPin);
      if (pin !== pin2) return say(section, "enrol-error", msg.msgMismatch);
      if (!deviceKeysPossible()) return say(section, "enrol-error", msg.msgNostorage);
      busy(deviceForm, true);
      var id = null;
      try {
        var pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
        var spki = await crypto.subtle.exportKey("spki", pair.publicKey);  // the public half is always exportable
        id = b64url(await crypto.subtle.digest("SHA-256", spki));
        // Keep the key before the server counts the invitation as used, so it cannot be lost in between.
        var record = { id: id, privateKey: pair.privateKey, publicKey: pair.publicKey, created: Date.now(), pending: true };
        try {
          await keyStore("readwrite", function (store) { return store.put(record); });
        } catch (err) {
          id = null;
          return say(section, "enrol-error", msg.msgNostorage);
        }
        var options = await postJSON("/api/invite/" + token + "/options", { kind: "device_key" });
        if (!options.ok) throw options;
        var challenge = options.data.challenge;
        var signature = await signText(pair.privateKey, "weiwang:enrol_device_key:" + location.origin + ":" + challenge);
        var result = await postJSON("/api/invite/" + token + "/enrol", {
          kind: "device_key", public_key: b64url(spki), challenge: challenge, signature: b64url(signature),
          pin: pin, name: deviceForm.elements.name.value,
        });
        if (!result.ok) throw result;
        record.pending = false;
        await keyStore("readwrite", function (store) { return store.put(record); });
        show(document.getElementById("enrol-done"), true);
        goOn(result.data.next);
      } catch (failure) {
        if (id) await keyStore("readwrite", function (store) { return store.delete(id); }).catch(function () {});
        var data = (failure && failure.data) || {};
        say(section, "enrol-error", data.message || (failure && failure.network ? msg.msgNetwork : msg.msgFailed));
      } finally {
        busy(deviceForm, false);
      }
    });
  }

  // --- the sign-in page ----------------------------------------------------------------
  async function initSignin(section) {
    var msg = section.dataset;
    var next = section.dataset.next || "/";
    var support = await passkeySupport();
    var key = deviceKeysPossible() ? await newestKey() : null;
    show(document.getElementById("signin-checking"), false);
    var passkeyBox = document.getElementById("signin-passkey");
    var deviceForm = document.getElementById("signin-device");
    show(deviceForm, !!key);
    show(passkeyBox, support !== "none");
    show(document.getElementById("signin-none"), !key && support !== "yes");
    section.dataset.support = support;
    section.dataset.deviceKey = key ? "yes" : "no";

    document.getElementById("passkey-signin").addEventListener("click", async function () {
      say(section, "signin-error", "");
      busy(passkeyBox, true);
      try {
        var options = await postJSON("/api/signin/options", { kind: "passkey" });
        if (!options.ok) return say(section, "signin-error", options.data.message || (options.network ? msg.msgNetwork : msg.msgFailed));
        var credential;
        try {
          credential = await navigator.credentials.get({ publicKey: requestOptions(options.data.publicKey), signal: withTimeout() });
        } catch (err) {
          return say(section, "signin-error", msg.msgCancelled);
        }
        var result = await postJSON("/api/signin", { kind: "passkey", credential: credentialJSON(credential), next: next });
        if (!result.ok) return say(section, "signin-error", result.data.message || (result.network ? msg.msgNetwork : msg.msgFailed));
        goOn(result.data.next);
      } finally {
        busy(passkeyBox, false);
      }
    });

    deviceForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      say(section, "signin-error", "");
      var pin = deviceForm.elements.pin.value;
      if (!/^[0-9]{6}$/.test(pin)) return say(section, "signin-error", msg.msgPin);
      busy(deviceForm, true);
      try {
        var options = await postJSON("/api/signin/options", { kind: "device_key" });
        if (!options.ok) return say(section, "signin-error", options.data.message || (options.network ? msg.msgNetwork : msg.msgFailed));
        var challenge = options.data.challenge;
        var signature = await signText(key.privateKey, "weiwang:sign_in_device_key:" + location.origin + ":" + challenge);
        var result = await postJSON("/api/signin", {
          kind: "device_key", credential_id: key.id, challenge: challenge, signature: b64url(signature), pin: pin, next: next,
        });
        if (!result.ok) {
          deviceForm.elements.pin.value = "";
          return say(section, "signin-error", result.data.message || (result.network ? msg.msgNetwork : msg.msgFailed));
        }
        goOn(result.data.next);
      } finally {
        busy(deviceForm, false);
      }
    });
  }

  function init() {
    // Runs on a full load and again when htmx swaps one of these pages in: bind once.
    var enrol = document.getElementById("enrol");
    if (enrol && !enrol.dataset.bound) { enrol.dataset.bound = "1"; initEnrol(enrol); }
    var signin = document.getElementById("signin");
    if (signin && !signin.dataset.bound) { signin.dataset.bound = "1"; initSignin(signin); }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
