// hemkoll console: the little htmx does not do by itself. No inline script anywhere (the
// pages' Content-Security-Policy allows scripts from this origin only, and htmx runs without
// eval), so this file is the console's only script besides htmx.
(function () {
  "use strict";

  // The worklist refreshes itself (hx-trigger "every 30s"), but not while someone is working
  // in it: an open "resolve" panel, or focus in one of its fields. Their note and their place
  // are never lost. A refresh asked for by the server (after a conflict) always goes ahead.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var list = document.getElementById("worklist");
    if (!list || event.detail.elt !== list) {
      return;
    }
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    if (trigger && trigger.type === "refresh-worklist") {
      return;
    }
    var active = document.activeElement;
    var typing = active && list.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    if (typing || list.querySelector("details[open]")) {
      event.preventDefault();
    }
  });

  // Opening an alert's "resolve" panel brings its form into view (on a tablet it would open
  // below the fold) and puts focus on its first field. "toggle" does not bubble: captured.
  document.addEventListener("toggle", function (event) {
    var panel = event.target;
    if (!(panel instanceof HTMLDetailsElement) || !panel.open || !/^resolve-/.test(panel.id)) {
      return;
    }
    var form = panel.querySelector("form");
    if (!form) {
      return;
    }
    var reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    form.scrollIntoView({ block: "nearest", behavior: reduce ? "auto" : "smooth" });
    // A form refused comes back open with focus on the field in error: left as it is.
    var first = form.querySelector("select, textarea");
    if (first && !form.querySelector("[aria-invalid='true']")) {
      first.focus({ preventScroll: true });
    }
  }, true);

  // A print button (the summary's "Print / save as PDF"): hidden until this script runs, since
  // without it the button would do nothing (the page's help names the browser's own print).
  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", printButtons);
  } else {
    printButtons();
  }

  // Content swapped in after an action (an alert's card, the backtest) marks the element
  // that should take focus with data-focus: keyboard and screen-reader users land on it.
  document.addEventListener("htmx:afterSettle", function () {
    var next = document.querySelector("[data-focus]");
    if (next) {
      next.removeAttribute("data-focus");
      next.focus();
    }
  });
})();
