/* 我的 → 通知: subscribe this phone to Web Push (server/notify/push.py) with the server's VAPID key. */
(function () {
  "use strict";
  var box = document.getElementById("push-allow");
  var button = document.getElementById("push-enable");
  if (!box || !button) return;
  var state = document.getElementById("push-state");

  function say(text) { state.textContent = text; }
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function keyBytes(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(box.dataset.msgUnsupported);
    button.hidden = true;
    return;
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("denied");
      return Promise.all([navigator.serviceWorker.ready,
        fetch(box.dataset.keyUrl, { credentials: "same-origin", headers: { accept: "application/json" } }).then(function (r) { return r.json(); })]);
    }).then(function (both) {
      return both[0].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(both[1].key) });
    }).then(function (subscription) {
      return fetch(box.dataset.subscribeUrl, {
        method: "POST", credentials: "same-origin", body: JSON.stringify(subscription.toJSON()),
        headers: { "content-type": "application/json", accept: "application/json", "x-csrftoken": csrfToken() }
      });
    }).then(function (response) {
      if (!response.ok) throw new Error("refused");
      say(box.dataset.msgOn);
    }).catch(function (error) {
      say(error && error.message === "denied" ? box.dataset.msgDenied : box.dataset.msgUnsupported);
    }).then(function () { button.disabled = false; });
  });
})();
