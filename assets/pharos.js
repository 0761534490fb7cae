// Pharos status page script (served at /assets/pharos.js). Progressive only: every page is
// complete without it. It does three things:
//  1. shows each <time data-local> in the reader's time zone (the server writes UTC, and
//     keeps the UTC text as the element's tooltip);
//  2. shows an uptime bar day's details under the bar on hover or tap, since touch screens
//     show no SVG tooltips;
//  3. says again how long ago each monitored component was checked, relative to now.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var full = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short"
  });
  var clock = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short"
  });

  function localTimes() {
    var times = document.querySelectorAll("time[data-local]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) continue;
      var format = el.getAttribute("data-local") === "time" ? clock : full;
      if (!el.title) el.title = el.textContent;
      el.textContent = format.format(date);
    }
  }

  // "Checked 3 minutes ago": the server wrote it when the page was built; say it again
  // relative to now, since a page may be cached or left open.
  function checkedAgo() {
    var times = document.querySelectorAll("time[data-ago]");
    var now = Date.now();
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var at = new Date(el.getAttribute("datetime")).getTime();
      if (isNaN(at)) continue;
      var minutes = Math.max(0, Math.floor((now - at) / 60000));
      var text;
      if (minutes < 1) text = "just now";
      else if (minutes < 60) text = minutes === 1 ? "1 minute ago" : minutes + " minutes ago";
      else if (minutes < 2880) {
        var hours = Math.floor(minutes / 60);
        text = hours === 1 ? "1 hour ago" : hours + " hours ago";
      } else text = Math.floor(minutes / 1440) + " days ago";
      el.title = el.getAttribute("datetime");
      el.textContent = "Checked " + text;
    }
  }

  function barDetails() {
    var bars = document.querySelectorAll("svg.bar");
    for (var i = 0; i < bars.length; i++) {
      (function (bar) {
        var tip = bar.parentNode.querySelector(".bar-tip");
        if (!tip) return;
        function show(event) {
          var cell = event.target.closest ? event.target.closest("rect") : null;
          var title = cell && cell.querySelector("title");
          if (title) tip.textContent = title.textContent;
        }
        bar.addEventListener("pointerover", show);
        bar.addEventListener("click", show);
        // A mouse leaving clears the details; a finger lifting must not, or a tap shows nothing.
        bar.addEventListener("pointerleave", function (event) {
          if (event.pointerType === "mouse") tip.textContent = "";
        });
      })(bars[i]);
    }
  }

  function start() {
    localTimes();
    checkedAgo();
    barDetails();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
