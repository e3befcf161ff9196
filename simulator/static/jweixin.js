// Stand-in for WeChat's JS-SDK (jweixin) in the simulator: wx.config is checked against the
// account's jsapi_ticket; <wx-open-subscribe> opens the simulated subscribe pop-up.
(function () {
  "use strict";
  const base = new URL(document.currentScript.src).origin;
  let state = null;
  const waiting = { ready: [], error: [] };
  function settle(ok, answer) {
    state = ok;
    (ok ? waiting.ready : waiting.error).forEach(function (fn) { fn(answer); });
  }
  window.wx = {
    config: function (options) {
      fetch(base + "/sim/jsapi/verify", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({}, options, { url: location.href.split("#")[0] }))
      }).then(function (r) { return r.json(); })
        .then(function (answer) { settle(answer.errMsg === "config:ok", answer); })
        .catch(function () { settle(false, { errMsg: "config:fail" }); });
    },
    ready: function (fn) { if (state === true) fn(); else waiting.ready.push(fn); },
    error: function (fn) { if (state === false) fn({ errMsg: "config:invalid signature" }); else waiting.error.push(fn); }
  };
  class OpenSubscribe extends HTMLElement {
    connectedCallback() {
      const template = this.querySelector('script[type="text/wxtag-template"]');
      if (template) this.innerHTML = template.textContent;
      this.addEventListener("click", () => {
        if (state !== true) {
          this.dispatchEvent(new CustomEvent("error", { detail: { errMsg: "subscribe:fail, config not ready" } }));
          return;
        }
        location.href = base + "/sim/subscribe?templates=" + encodeURIComponent(this.getAttribute("template") || "") +
          "&back=" + encodeURIComponent(location.href);
      });
    }
  }
  customElements.define("wx-open-subscribe", OpenSubscribe);
})();
