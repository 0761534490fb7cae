// Progressive help for the incident screens (every form works without it):
// - picking a status tile puts that status's standard message in an empty text box (or
//   replaces the previous standard message), so the responder can keep it or edit it;
// - a text box with `data-preview="ID"` shows a live preview of its Markdown in element ID,
//   rendered by the server (POST /admin/preview with the form's CSRF token) with the same
//   sanitiser as the public page.
"use strict";
(function () {
  function defaults(form) {
    var box = form.querySelector("textarea[data-status-defaults]");
    if (!box) return;
    var radios = form.querySelectorAll("input[type=radio][name=status][data-default]");
    var known = [];
    radios.forEach(function (r) { known.push(r.getAttribute("data-default")); });
    radios.forEach(function (r) {
      r.addEventListener("change", function () {
        var text = box.value.trim();
        if (text === "" || known.indexOf(text) >= 0) {
          box.value = r.getAttribute("data-default");
          box.dispatchEvent(new Event("input"));
        }
      });
    });
  }

  function preview(box) {
    var out = document.getElementById(box.getAttribute("data-preview"));
    var form = box.form;
    if (!out || !form) return;
    var csrf = form.querySelector("input[name=csrf]");
    var timer = null;
    var sent = 0;
    function render() {
      var text = box.value;
      if (text.trim() === "") { out.textContent = ""; return; }
      var mine = ++sent;
      var body = new URLSearchParams();
      body.set("csrf", csrf ? csrf.value : "");
      body.set("body", text);
      fetch("/admin/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString()
      }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        // Only the newest answer counts; the HTML is the server's sanitised rendering.
        if (html === null || mine !== sent) return;
        out.textContent = "";
        var h = document.createElement("h3");
        h.textContent = "Preview";
        var div = document.createElement("div");
        div.className = "markdown";
        div.innerHTML = html;
        out.appendChild(h);
        out.appendChild(div);
      }).catch(function () {});
    }
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 300);
    });
  }

  document.querySelectorAll("form").forEach(defaults);
  document.querySelectorAll("textarea[data-preview]").forEach(preview);
})();
