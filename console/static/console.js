// Light enhancements only: every page works without them.
(function () {
  "use strict";
  const token = document.querySelector('meta[name="csrf-token"]');

  // Response templates fill the note box they point at.
  document.querySelectorAll("select.template").forEach(function (select) {
    select.addEventListener("change", function () {
      const box = document.getElementById(select.dataset.target);
      if (box && select.value) box.value = select.value;
    });
  });

  // Confirm destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Tick all rows of a bulk form (rows that need one-by-one review are left alone).
  document.querySelectorAll("input.check-all").forEach(function (box) {
    box.addEventListener("change", function () {
      box.closest("form").querySelectorAll('input[name="ids"]:not([data-flagged])').forEach(function (row) { row.checked = box.checked; });
    });
  });

  document.querySelectorAll("button.print").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] === undefined ? "" : values[key]; });
  }

  // Broadcast composer: live recipient count by channel.
  const composer = document.getElementById("broadcast-form");
  if (composer) {
    const out = document.getElementById("preview");
    const template = document.getElementById("preview-text").innerHTML;
    let timer = null;
    const refresh = function () {
      const params = new URLSearchParams(new FormData(composer));
      params.delete("csrf_token"); params.delete("text"); params.delete("title");
      fetch(composer.dataset.preview + "?" + params, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          out.textContent = data.error ? data.error : fill(template, {
            total: data.total, custom: data.custom || 0, template: data.template || 0,
            mass: data.mass || 0, undeliverable: data.undeliverable || 0 });
          out.dataset.total = data.total === undefined ? "" : data.total;
        });
    };
    composer.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 150); });
    refresh();
  }

  // Broadcast progress bar, polled while sending.
  const progress = document.getElementById("progress");
  if (progress) {
    const labels = JSON.parse(progress.dataset.labels);
    const line = document.getElementById("progress-text").innerHTML;
    const poll = function () {
      fetch(progress.dataset.url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          const total = p.recipients || (p.sent + p.queued + p.failed + p.undeliverable) || 0;
          const done = p.sent + p.failed + p.undeliverable;
          const percent = total ? Math.round(100 * done / total) : (p.status === "done" ? 100 : 0);
          progress.querySelector(".bar span").style.width = percent + "%";
          progress.dataset.percent = percent;
          progress.querySelector(".counts").textContent = fill(line, p);
          document.getElementById("b-status").textContent = labels[p.status] || p.status;
          if (p.status === "scheduled" || p.status === "sending") setTimeout(poll, 1000);
        });
    };
    poll();
  }
  if (token) window.linliCsrf = token.content;
})();
