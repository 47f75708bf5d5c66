// The console's own few lines: SLA countdowns that keep counting between page loads.
// Pages read fully without this file; htmx (vendored beside it) loads the slower sections.
(function () {
  "use strict";
  function words(seconds) {
    var s = Math.abs(seconds);
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return (s / 60).toFixed(1) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " days";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      el.textContent = left < 0 ? "overdue by " + words(left) : "due in " + words(left);
      var row = el.closest("tr");
      if (row && left < 0) row.classList.add("overdue");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 15000);
  });
})();
