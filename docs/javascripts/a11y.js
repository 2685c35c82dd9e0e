/* Every page: names and focus for what Material and GLightbox leave without them.
 * - the search dialog gets a name (axe: aria-dialog-name);
 * - the figure zoom (GLightbox) dialog gets one when it opens;
 * - the code path under a figure breaks at its slashes on a phone;
 * - a box that scrolls sideways (a wide table, a long formula on a phone) can be
 *   reached and scrolled from the keyboard (axe: scrollable-region-focusable).
 */
(function () {
  "use strict";

  function name(node, label) {
    if (node && !node.getAttribute("aria-label") && !node.getAttribute("aria-labelledby")) {
      node.setAttribute("aria-label", label);
    }
  }

  function scrollers() {
    document.querySelectorAll(".md-typeset__scrollwrap, .li-math-block").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-li-scroll", "");
        if (!box.getAttribute("role")) box.setAttribute("role", "region");
        name(box, box.querySelector("table") ? "表格（可左右滚动）" : "公式（可左右滚动）");
      } else if (!scrolls && box.hasAttribute("data-li-scroll")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-li-scroll");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  /* The code path under a figure may break after a "/" or before "#", never mid-word. */
  function breakPaths() {
    document.querySelectorAll(".li-figure-source code").forEach(function (code) {
      if (code.children.length) return;
      var parts = code.textContent.split(/(?<=\/)|(?=#)/);
      code.textContent = "";
      parts.forEach(function (part, k) {
        if (k) code.appendChild(document.createElement("wbr"));
        code.appendChild(document.createTextNode(part));
      });
    });
  }

  function init() {
    name(document.querySelector(".md-search[role=dialog]"), "搜索");
    breakPaths();
    scrollers();
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(scrollers, 100);
    });
    new MutationObserver(function () {
      var box = document.getElementById("glightbox-body");
      if (box) {
        name(box, "放大的图");
        box.setAttribute("aria-modal", "true");
      }
    }).observe(document.body, { childList: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
