// amprelay console: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Elements with data-poll-url refresh their content every data-poll-seconds from that URL
  // (an HTML fragment). A 204 answer means nothing changed. Focus inside is kept by id.
  document.querySelectorAll("[data-poll-url]").forEach(function (el) {
    var seconds = parseFloat(el.getAttribute("data-poll-seconds") || "2");
    var paused = false;
    var toggle = document.querySelector('[data-poll-toggle="' + el.id + '"]');
    if (toggle) {
      toggle.addEventListener("click", function () {
        paused = !paused;
        toggle.setAttribute("aria-pressed", String(paused));
        toggle.textContent = paused ? "Resume updates" : "Pause updates";
      });
    }
    function tick() {
      if (paused || document.hidden) { return schedule(); }
      var url = el.getAttribute("data-poll-url");
      var seq = el.getAttribute("data-seq");
      if (seq) { url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + encodeURIComponent(seq); }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.status !== 200) { return null; }
          var next = r.headers.get("X-Seq");
          if (next && seq) { el.setAttribute("data-seq", next); }
          return r.text();
        })
        .then(function (html) {
          if (html === null || html === undefined) { return; }
          var focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.id : null;
          el.innerHTML = html;
          if (focused) { var again = document.getElementById(focused); if (again) { again.focus(); } }
        })
        .catch(function () {})
        .then(schedule);
    }
    function schedule() { setTimeout(tick, seconds * 1000); }
    schedule();
  });

  // "Select all" for the dead letters table.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="id"][type="checkbox"]').forEach(function (box) { box.checked = all.checked; });
    });
  }

  // Buttons with data-confirm ask before submitting.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Choosing a recent event in the tester clears the JSON box's role: the choice wins.
  var recent = document.getElementById("recent");
  if (recent) {
    recent.addEventListener("change", function () {
      var box = document.getElementById("event");
      if (box) { box.disabled = recent.value !== ""; }
    });
  }
})();
