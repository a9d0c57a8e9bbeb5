// legitka: the little the page needs JavaScript for. Everything works
// without it; with it, the dashboard and the printer badge update live
// (server-sent events) and a barcode scanner's Enter moves to the next field.
"use strict";

(function () {
  function live() {
    // Only on the station's pages (not the login form).
    if (!window.EventSource || !document.getElementById("badge")) return;
    var es = new EventSource("/na-zywo");
    es.addEventListener("pulpit", function (e) {
      var el = document.getElementById("live");
      if (el) el.innerHTML = e.data;
    });
    es.addEventListener("badge", function (e) {
      var el = document.getElementById("badge");
      if (!el) return;
      var d = JSON.parse(e.data);
      el.textContent = d.text;
      el.className = "badge " + d.kind;
    });
  }

  // A scanner types the card number and Enter: go to the next field
  // instead of sending a half-filled form.
  function scanner() {
    var fields = document.querySelectorAll("[data-next]");
    Array.prototype.forEach.call(fields, function (f) {
      f.addEventListener("keydown", function (e) {
        if (e.key !== "Enter") return;
        var next = document.getElementById(f.getAttribute("data-next"));
        if (next && next.value === "") {
          e.preventDefault();
          next.focus();
        }
      });
    });
  }

  // "Select all" for a class's orders in the queue.
  function classTicks() {
    var boxes = document.querySelectorAll("[data-tick-class]");
    Array.prototype.forEach.call(boxes, function (b) {
      b.addEventListener("change", function () {
        var cls = b.getAttribute("data-tick-class");
        // Compared as data, never built into a selector: a class named
        // 4"a (or worse) must not change what the selector means.
        var items = Array.prototype.filter.call(
          document.querySelectorAll("input[data-class]"),
          function (i) { return i.getAttribute("data-class") === cls; });
        Array.prototype.forEach.call(items, function (i) { i.checked = b.checked; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    live();
    scanner();
    classTicks();
  });
})();
